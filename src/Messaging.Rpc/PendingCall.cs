namespace Messaging.Rpc;

/// <summary>
/// One call waiting for its reply: pooled and reused, so a call in the steady state allocates no Task. Its state is a
/// generation (bumped on every reuse) and a completed bit in one <see cref="long"/>: whoever completes the call —
/// reply, deadline sweep, cancellation, send failure or dispose — first claims it with a compare-and-swap on the
/// generation it read, so exactly one of them completes it, and none can touch a later call that reuses the object.
/// </summary>
/// <remarks>
/// <para>Life: <see cref="PendingCalls"/> rents it, fills it and adds it to the map under its correlation ID; one
/// path claims it, removes the entry, releases the budget and sets the outcome; the caller's await reads the outcome
/// (<c>GetResult</c>), which clears every reference the call held and returns it to its pool.</para>
/// <para>A path that found the call through the map (a reply, the sweep) reads the generation first and its other
/// fields after; if the object was recycled and reused in between, the claim on the old generation fails.</para>
/// </remarks>
internal abstract class PendingCall
{
    private long _state;
    private int _acknowledgedGeneration = -1;
    private CancellationTokenRegistration _cancellation;
    private PendingCalls? _owner;
    private int _registeredGeneration;

    /// <summary>The correlation ID and the deadline as they go on the wire (16 + 8 bytes); header values point here while the request is produced.</summary>
    public byte[] HeaderValues { get; } = new byte[RpcWire.CorrelationIdLength + RpcWire.DeadlineLength];

    public Guid CorrelationId { get; private set; }

    public string? Method { get; private set; }

    public string? Topic { get; private set; }

    /// <summary>The codec of the reply.</summary>
    public IRpcSerializer? Serializer { get; private set; }

    /// <summary>When the call started (a <see cref="TimeProvider"/> timestamp).</summary>
    public long StartTimestamp { get; private set; }

    /// <summary>When the call expires (a <see cref="TimeProvider"/> timestamp).</summary>
    public long DeadlineTimestamp { get; private set; }

    /// <summary>The request's payload bytes counted against the client's budget.</summary>
    public int RequestBytes { get; private set; }

    /// <summary>The logical call this is one attempt of, on the resilient path (retries, hedging, breaker); null on the plain path.</summary>
    public CallAttempts? Attempts { get; private set; }

    /// <summary>The generation of the call the object now carries.</summary>
    public int Generation => (int)(Volatile.Read(ref _state) >> 1);

    /// <summary>True once the current generation was claimed by a completion.</summary>
    public bool IsClaimed => (Volatile.Read(ref _state) & 1) != 0;

    /// <summary>Whether the broker acknowledged generation <paramref name="generation"/>'s request.</summary>
    public bool IsAcknowledged(int generation) => Volatile.Read(ref _acknowledgedGeneration) == generation;

    /// <summary>Starts a new call on this object; returns its generation.</summary>
    public int Begin(PendingCalls owner, Guid correlationId, string method, string topic, IRpcSerializer serializer, long startTimestamp, long deadlineTimestamp, int requestBytes,
        CallAttempts? attempts)
    {
        _owner = owner;
        Attempts = attempts;
        CorrelationId = correlationId;
        Method = method;
        Topic = topic;
        Serializer = serializer;
        StartTimestamp = startTimestamp;
        DeadlineTimestamp = deadlineTimestamp;
        RequestBytes = requestBytes;
        RpcWire.WriteCorrelationId(correlationId, HeaderValues);

        // Published last: a path that reads this generation sees the fields above.
        var generation = Generation + 1;
        Volatile.Write(ref _state, (long)generation << 1);
        return generation;
    }

    /// <summary>Claims generation <paramref name="generation"/> for completion; true for exactly one caller.</summary>
    public bool TryClaim(int generation)
    {
        var pending = (long)generation << 1;
        return Interlocked.CompareExchange(ref _state, pending | 1, pending) == pending;
    }

    /// <summary>Records the broker's acknowledgement of generation <paramref name="generation"/>'s request (ignored for a later generation).</summary>
    public void Acknowledge(int generation)
    {
        if (Generation == generation)
        {
            Volatile.Write(ref _acknowledgedGeneration, generation);
        }
    }

    /// <summary>Links the caller's token: cancelling it fails this generation with <see cref="RpcStatus.Cancelled"/>.</summary>
    /// <remarks>The registration lives until <see cref="Recycle"/>, so the owner and generation it reads stay this call's.</remarks>
    public void RegisterCancellation(int generation, CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _registeredGeneration = generation;
            _cancellation = cancellationToken.UnsafeRegister(static (state, token) =>
            {
                var call = (PendingCall)state!;
                call._owner!.Cancel(call, call._registeredGeneration, token);
            }, this);
        }
    }

    /// <summary>
    /// Decodes the claimed call's reply here, on the reply thread, from the pooled bytes, and keeps it for
    /// <see cref="CompleteWithReply"/>. False, with the codec's exception, when the payload could not be decoded (the
    /// call is then still to complete).
    /// </summary>
    public abstract bool TryDecodeReply(ReadOnlySpan<byte> payload, out Exception? decodeError);

    /// <summary>
    /// Completes the claimed call with the reply <see cref="TryDecodeReply"/> kept, running the caller's continuation
    /// on this thread (a <see cref="ReplyRun"/>'s work item, never the reply loop; a captured synchronization context
    /// or scheduler still gets it posted). The call may be recycled before this returns: touch nothing of it after.
    /// </summary>
    public abstract void CompleteWithReply();

    /// <summary>Completes the claimed call with an error.</summary>
    public abstract void SetError(Exception error);

    /// <summary>
    /// Called from the awaiter's <c>GetResult</c> once the outcome was read: unlinks the caller's token (waiting for a
    /// cancellation callback that is running right now, which then finds the generation claimed), drops every
    /// reference, and returns the object to its pool.
    /// </summary>
    protected void Recycle()
    {
        _cancellation.Dispose();
        _cancellation = default;
        _owner = null;
        Method = null;
        Topic = null;
        Serializer = null;
        Attempts = null;
        CorrelationId = default;
        ResetOutcome();
        ReturnToPool();
    }

    protected abstract void ResetOutcome();

    protected abstract void ReturnToPool();
}
