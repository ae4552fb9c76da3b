namespace Messaging.Connection;

/// <summary>
/// Exponential reconnect backoff with jitter (<c>reconnect.backoff.ms</c> doubling up to
/// <c>reconnect.backoff.max.ms</c>, each wait scaled by a random factor in [0.8, 1.2] and capped at the maximum
/// again), as the Java client does, so clients that lost a broker together do not all come back at the same instant.
/// </summary>
internal static class ReconnectBackoff
{
    public static TimeSpan Next(int consecutiveFailures, TimeSpan initial, TimeSpan maximum)
    {
        if (consecutiveFailures <= 0)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Min(consecutiveFailures - 1, 30);
        var raw = Math.Min(initial.TotalMilliseconds * Math.Pow(2, exponent), maximum.TotalMilliseconds);
#pragma warning disable CA5394 // Jitter spreads reconnects out; it is not a security decision.
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
#pragma warning restore CA5394

        // Jitter spreads waits below the maximum, never past it: reconnect.backoff.max.ms is the longest wait.
        return TimeSpan.FromMilliseconds(Math.Min(raw * jitter, maximum.TotalMilliseconds));
    }
}
