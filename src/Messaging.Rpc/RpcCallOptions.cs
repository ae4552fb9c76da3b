using System.Runtime.InteropServices;

namespace Messaging.Rpc;

/// <summary>
/// Per-call settings: when the call expires, extra headers, the record key, and whether the call is idempotent. A value type: passing options
/// allocates nothing. <see cref="Deadline"/> wins over <see cref="Timeout"/>; with neither, the client's
/// <see cref="RpcClientOptions.DefaultTimeout"/> applies.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct RpcCallOptions
{
    /// <summary>How long the call may take, from now; null for the client's default.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The absolute time by which the call must be done; null to use <see cref="Timeout"/>.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>
    /// Headers sent with the request, after the RPC headers; null for none. One named as an RPC header the request carries
    /// (routing, method, deadline, content type) is not sent. Their values must stay unchanged until the call completes.
    /// </summary>
    public IReadOnlyList<RecordHeader>? Headers { get; init; }

    /// <summary>
    /// Whether running the request twice does no harm: an idempotent call may be retried and hedged
    /// (<see cref="RpcClientOptions.Resilience"/>), every attempt under the call's one correlation ID. Also true for
    /// methods listed in <see cref="RpcResilienceOptions.IdempotentMethods"/>. Default false.
    /// </summary>
    public bool Idempotent { get; init; }

    /// <summary>The request record's key (requests with the same key stay in order on the request topic); null for none. Read before the call returns its first await, not kept.</summary>
    public ReadOnlyMemory<byte>? Key { get; init; }

    /// <summary>These options with the call's own copy of <see cref="Key"/>, for a call that reads or keeps the key after its first await (the caller may reuse the key's memory by then).</summary>
    internal RpcCallOptions WithOwnKey() => Key is { } key ? this with { Key = key.ToArray() } : this;
}
