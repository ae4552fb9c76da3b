using System.Diagnostics;

namespace Messaging.IntegrationTests.Support;

/// <summary>Waits for a condition with a deadline, instead of sleeping a fixed time and hoping it holds by then.</summary>
internal static class Eventually
{
    /// <summary>How often the condition is looked at again.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>Completes once <paramref name="condition"/> holds; fails the test with <paramref name="failure"/> if it does not within <paramref name="timeout"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string failure, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < timeout, failure + " (waited " + timeout.TotalSeconds + " s)");
            await Task.Delay(PollInterval, cancellationToken);
        }
    }
}
