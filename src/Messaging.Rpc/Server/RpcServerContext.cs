namespace Messaging.Rpc;

/// <summary>
/// What a handler knows about the request it handles: method, correlation ID, deadline, key, headers, where it was
/// read from, and a <see cref="CancellationToken"/> that fires at the deadline or when the server stops waiting for
/// handlers at shutdown.
/// </summary>
/// <remarks>
/// Valid only until the handler's task completes: the server reuses the context for a later request, and
/// <see cref="Key"/> and <see cref="Headers"/> are slices of the consumer's pooled buffers. Copy what must outlive the
/// call.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "Pooled by the server, which calls Clear after each request: Clear disposes the token source and its far-deadline timer.")]
public sealed class RpcServerContext
{
    private CancellationTokenSource? _cancellation;
    private FarDeadline? _farDeadline;
    private CancellationTokenRegistration _abortRegistration;
    private TimeProvider _time = TimeProvider.System;
    private CancellationToken _abort;

    internal RpcServerContext()
    {
    }

    /// <summary>The method name.</summary>
    public string Method { get; private set; } = "";

    /// <summary>The request's correlation ID (<see cref="Guid.Empty"/> for a one-way request, or one whose ID is not 16 bytes).</summary>
    public Guid CorrelationId { get; private set; }

    /// <summary>The caller's deadline, or null when the request carries none.</summary>
    public DateTimeOffset? Deadline { get; private set; }

    /// <summary>The request record's key (a pooled slice), or null when it has none.</summary>
    public ReadOnlyMemory<byte>? Key { get; private set; }

    /// <summary>Every header of the request record, the RPC ones included (values are pooled slices).</summary>
    public RecordHeaders Headers { get; private set; }

    /// <summary>The request topic and partition the request was read from.</summary>
    public TopicPartition TopicPartition { get; private set; }

    /// <summary>The request record's offset.</summary>
    public long Offset { get; private set; }

    /// <summary>True when the caller waits for a reply (false for a one-way request).</summary>
    public bool ExpectsReply { get; private set; }

    /// <summary>
    /// Fires at <see cref="Deadline"/> (the caller has given up), or when a shutting-down server stops waiting for
    /// handlers (<see cref="RpcServerOptions.DrainTimeout"/>). Created on first use.
    /// </summary>
    public CancellationToken CancellationToken
    {
        get
        {
            var source = Volatile.Read(ref _cancellation);
            return (source ?? CreateCancellation()).Token;
        }
    }

    /// <summary>True when <see cref="CancellationToken"/> was asked for and has fired.</summary>
    internal bool IsCancelled => Volatile.Read(ref _cancellation)?.IsCancellationRequested == true;

    internal void Set(string method, Guid correlationId, DateTimeOffset? deadline, ReadOnlyMemory<byte>? key, RecordHeaders headers,
        TopicPartition topicPartition, long offset, bool expectsReply, TimeProvider time, CancellationToken abort)
    {
        Method = method;
        CorrelationId = correlationId;
        Deadline = deadline;
        Key = key;
        Headers = headers;
        TopicPartition = topicPartition;
        Offset = offset;
        ExpectsReply = expectsReply;
        _time = time;
        _abort = abort;
    }

    /// <summary>Drops everything the context points to (it goes back to the pool).</summary>
    internal void Clear()
    {
        var source = Interlocked.Exchange(ref _cancellation, null);
        if (source is not null)
        {
            _abortRegistration.Dispose();
            _abortRegistration = default;
            _farDeadline?.Dispose();
            _farDeadline = null;
            source.Dispose();
        }

        Method = "";
        CorrelationId = Guid.Empty;
        Deadline = null;
        Key = null;
        Headers = default;
        TopicPartition = default;
        Offset = 0;
        _abort = default;
    }

    private CancellationTokenSource CreateCancellation()
    {
        var remaining = Deadline is { } deadline ? deadline - _time.GetUtcNow() : TimeSpan.MaxValue;
        var source = remaining <= FarDeadline.MaxStep
            ? new CancellationTokenSource(Max(remaining, TimeSpan.Zero), _time)
            : new CancellationTokenSource();
        if (Interlocked.CompareExchange(ref _cancellation, source, null) is { } winner)
        {
            source.Dispose(); // another thread of the handler asked first
            return winner;
        }

        if (Deadline is { } far && remaining > FarDeadline.MaxStep)
        {
            _farDeadline = new FarDeadline(source, far, _time); // before the handler can finish: Clear runs after it did
        }

        // Registered after publishing, so Clear (which runs after the handler finished) always sees the registration.
        _abortRegistration = _abort.UnsafeRegister(static state => Cancel((CancellationTokenSource)state!), source);
        return source;
    }

    private static void Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The request finished meanwhile: nothing to cancel.
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
