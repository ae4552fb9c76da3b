namespace Messaging.Rpc;

/// <summary>
/// One request on its way through the server, pooled: the consumed record it was read from (kept un-recycled until
/// the reply is acknowledged, so the key, correlation ID and payload are read straight from the consumer's buffers),
/// what its headers say, its place in its partition's <see cref="OffsetTracker"/>, and the handler's context.
/// </summary>
internal sealed class ServerRequest
{
    private readonly Action _onProcessed;
    private IRequestRunner? _runner;
    private System.Runtime.CompilerServices.ValueTaskAwaiter _processing;

    // What still holds the request before it may finish: its processing (from Start until ProcessAsync completed) and,
    // on the fast reply path, the reply's acknowledgement. Whoever lets go last finishes it: the acknowledgement can
    // arrive on the I/O thread before ProcessAsync has even returned to Start.
    private int _holds;

    public ServerRequest() => _onProcessed = OnProcessed;

    public RpcServerContext Context { get; } = new();

    /// <summary>The pooled record (default in tests that build requests by hand).</summary>
    public ConsumedRecord Record;

    public ReadOnlyMemory<byte> Payload;

    public ReadOnlyMemory<byte>? Key;

    public RecordHeaders Headers;

    public TopicPartition TopicPartition;

    public long Offset;

    /// <summary>The partition's state while the request is admitted; null before.</summary>
    public PartitionState? Partition;

    public OffsetTracker.Slot Slot;

    // What the headers say (RequestReader fills these).
    public RpcMethod? Method;

    /// <summary>The method named when no handler has it (decoded only for the error message).</summary>
    public string? UnknownMethod;

    public ReadOnlyMemory<byte> CorrelationId;

    public string? ReplyTopic;

    public int? ReplyPartition;

    public DateTimeOffset? Deadline;

    /// <summary>Not OK when the headers were missing or garbled: the request is answered with this status (if it has a route) without running a handler.</summary>
    public RpcStatus Problem;

    public string? ProblemMessage;

    /// <summary>The reply's status and when processing started, for the metrics recorded at the reply's acknowledgement.</summary>
    public RpcStatus ReplyStatus;

    public long StartedTimestamp;

    /// <summary>Holds a per-method slot (released when done).</summary>
    public bool HoldsMethodSlot;

    /// <summary>Holds its key in the in-order set (released when done).</summary>
    public bool HoldsKey;

    // Reply headers, reused: correlation ID + content type (OK); correlation ID + status (+ message).
    public readonly RecordHeader[] OkHeaders = new RecordHeader[2];
    public readonly RecordHeader[] StatusHeaders = new RecordHeader[2];
    public readonly RecordHeader[] ErrorHeaders = new RecordHeader[3];

    /// <summary>True when the request names a topic to reply to (and an ID to reply with).</summary>
    public bool HasRoute => ReplyTopic is not null;

    /// <summary>
    /// Processes the request on the calling thread up to its handler's first await, then finishes it through
    /// <paramref name="runner"/> — at once if it completed, else from the processing's continuation. Waits through a
    /// delegate created once per pooled request: nothing is allocated per request.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012:Use ValueTasks correctly", Justification = "Consumed exactly once: its result is read when complete, else through its awaiter's continuation.")]
    public void Start(IRequestRunner runner)
    {
        _runner = runner;
        _holds = 1;
        var processing = runner.ProcessAsync(this);
        if (processing.IsCompleted)
        {
            processing.GetAwaiter().GetResult();
            Release();
            return;
        }

        _processing = processing.GetAwaiter();
        _processing.UnsafeOnCompleted(_onProcessed);
    }

    private void OnProcessed()
    {
        var processing = _processing;
        _processing = default;
        processing.GetResult(); // returns the pooled state machine; ProcessAsync never throws
        Release();
    }

    /// <summary>The reply is about to be handed to the producer with a delivery handler: the request now also waits for its acknowledgement.</summary>
    public void HoldForAcknowledgement() => Interlocked.Increment(ref _holds);

    /// <summary>Lets go of one hold (the processing's, or the acknowledgement's); the last one finishes the request through its runner.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _holds) == 0)
        {
            _runner?.Finish(this); // no runner: processed by hand (tests)
        }
    }

    /// <summary>Drops every reference the request holds (it goes back to the pool).</summary>
    public void Clear()
    {
        Context.Clear();
        _runner = null;
        Record = default;
        Payload = default;
        Key = null;
        Headers = default;
        TopicPartition = default;
        Offset = 0;
        Partition = null;
        Slot = default;
        Method = null;
        UnknownMethod = null;
        CorrelationId = default;
        ReplyTopic = null;
        ReplyPartition = null;
        Deadline = null;
        Problem = RpcStatus.Ok;
        ProblemMessage = null;
        ReplyStatus = RpcStatus.Ok;
        StartedTimestamp = 0;
        _holds = 0;
        HoldsMethodSlot = false;
        HoldsKey = false;
        Array.Clear(OkHeaders);
        Array.Clear(StatusHeaders);
        Array.Clear(ErrorHeaders);
    }
}
