using Messaging.Connection;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// <c>reconnect.backoff.max.ms</c> (and <c>retry.backoff.max.ms</c>, which the same backoff serves) is the longest
/// wait: jitter spreads the waits below it, never past it, as in the Java client.
/// </summary>
public sealed class ReconnectBackoffTests
{
    [Fact]
    public void Jittered_waits_never_exceed_the_maximum_and_stay_within_20_percent_below_the_doubled_wait()
    {
        var initial = TimeSpan.FromMilliseconds(50);
        var maximum = TimeSpan.FromSeconds(1);
        for (var failures = 1; failures <= 40; failures++)
        {
            var doubled = Math.Min(initial.TotalMilliseconds * Math.Pow(2, failures - 1), maximum.TotalMilliseconds);
            for (var sample = 0; sample < 200; sample++)
            {
                var wait = ReconnectBackoff.Next(failures, initial, maximum);
                Assert.True(wait <= maximum, $"after {failures} failure(s) the backoff was {wait.TotalMilliseconds} ms, over the maximum of {maximum.TotalMilliseconds} ms");
                Assert.True(wait.TotalMilliseconds >= doubled * 0.8 - 0.001, $"after {failures} failure(s) the backoff was {wait.TotalMilliseconds} ms, below 80% of {doubled} ms");
            }
        }

        Assert.Equal(TimeSpan.Zero, ReconnectBackoff.Next(0, initial, maximum));
    }
}
