namespace Messaging.Rpc;

/// <summary>
/// The server's reply cache (opt-in): a request whose correlation ID this server instance has already answered gets the
/// stored reply again instead of running its handler a second time — a client retry, a hedged attempt, or a
/// redelivery after this instance restarted its consumer without committing. Bounded by entries, bytes and age.
/// </summary>
/// <remarks>
/// The guarantee is per server instance and in memory: a redelivered request that lands on another instance (after a
/// rebalance moved its partition) or on a restarted process runs again. Handlers that must never run twice still need
/// their own idempotency (a key in their data store); the cache removes the common duplicates cheaply.
/// </remarks>
public sealed class RpcReplyCacheOptions
{
    /// <summary>Whether answered requests are remembered. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The most replies kept; the oldest are dropped first. Default 10,000.</summary>
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>The most reply payload bytes kept; the oldest are dropped first, and a reply larger than this on its own is not kept. Default 64 MiB.</summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How long a reply is kept (match it to how long clients retry a call). Default 5 minutes.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A copy, for the server built with these settings (the cache reads its bounds on every reply it keeps).</summary>
    internal RpcReplyCacheOptions Copy() => (RpcReplyCacheOptions)MemberwiseClone();

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxEntries, 1, nameof(MaxEntries));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBytes, 0, nameof(MaxBytes));
        if (MaxAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAge), MaxAge, "MaxAge must be positive.");
        }
    }
}
