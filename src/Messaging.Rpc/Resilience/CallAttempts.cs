using Microsoft.IO;

namespace Messaging.Rpc;

/// <summary>
/// One logical call on the resilient path — an idempotent call (retries, hedging) or any call through a circuit
/// breaker — across its attempts: what every attempt sends again (the encoded payload, kept in its pooled stream
/// until the call ends; the header bytes of its one correlation ID and deadline) and what the attempts count.
/// Owned by the call's frame in <see cref="RpcClient"/>, which disposes it when the call ends; attempts and hedged
/// sends only read it.
/// </summary>
internal sealed class CallAttempts : IDisposable
{
    private int _sends;

    public CallAttempts(RpcClient client, string topic, string method, Guid correlationId, bool idempotent, bool hedge, DateTimeOffset deadline,
        RecyclableMemoryStream payload, byte[] contentType, IRpcSerializer serializer, RpcCallOptions options, long start)
    {
        Client = client;
        Topic = topic;
        Method = method;
        CorrelationId = correlationId;
        Idempotent = idempotent;
        Hedge = hedge;
        Deadline = deadline;
        Payload = payload;
        ContentType = contentType;
        Serializer = serializer;
        Options = options.WithOwnKey(); // attempts send again after waits, when the caller may have reused the key's memory
        Start = start;
        RpcWire.WriteCorrelationId(correlationId, HeaderValues);
        RpcWire.WriteDeadline(deadline, HeaderValues.AsSpan(RpcWire.CorrelationIdLength));
    }

    public RpcClient Client { get; }

    public string Topic { get; }

    public string Method { get; }

    /// <summary>The ID the call's requests carry: the one it began with, or the fresh one an attempt drew when another pending call held it (<see cref="MoveTo"/>).</summary>
    public Guid CorrelationId { get; private set; }

    public bool Idempotent { get; }

    public bool Hedge { get; }

    /// <summary>The call's overall deadline (every attempt's request carries it).</summary>
    public DateTimeOffset Deadline { get; }

    public RecyclableMemoryStream Payload { get; }

    public byte[] ContentType { get; }

    public IRpcSerializer Serializer { get; }

    public RpcCallOptions Options { get; }

    public long Start { get; }

    /// <summary>The correlation ID and deadline as header values: this call's own copy, so a hedged send never reads a recycled pending call's.</summary>
    public byte[] HeaderValues { get; } = new byte[RpcWire.CorrelationIdLength + RpcWire.DeadlineLength];


    /// <summary>Requests sent under the correlation ID so far (attempts and hedges); above one, a second reply is a duplicate.</summary>
    public int Sends => Volatile.Read(ref _sends);

    public void CountSend() => Interlocked.Increment(ref _sends);

    /// <summary>
    /// Makes <paramref name="correlationId"/> the call's ID from now on: its attempt entered the pending map under it
    /// because another pending call held the call's ID. Called by <see cref="PendingCalls.Add"/> before the attempt sends; no request of the call
    /// is being sent meanwhile (the previous attempt, its hedge included, has ended).
    /// </summary>
    public void MoveTo(Guid correlationId)
    {
        CorrelationId = correlationId;
        RpcWire.WriteCorrelationId(correlationId, HeaderValues);
    }

    public void Dispose() => Payload.Dispose();
}
