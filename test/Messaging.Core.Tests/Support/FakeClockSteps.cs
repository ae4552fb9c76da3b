using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Support;

/// <summary>Moves a test's fake clock in small steps, giving the client's loops on the thread pool a moment after each.</summary>
internal static class FakeClockSteps
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Moves the fake clock in 200 ms steps, up to <paramref name="limit"/>, until <paramref name="done"/> holds;
    /// <paramref name="eachStep"/> runs after every step.
    /// </summary>
    public static async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> done, TimeSpan limit, string what, CancellationToken ct, Action? eachStep = null)
    {
        var advanced = TimeSpan.Zero;
        var waited = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(advanced < limit, what + " did not come within " + limit + " on the client's clock");
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), what + " did not come within 10 s of real time");
            time.Advance(Step);
            advanced += Step;
            eachStep?.Invoke();
            await Task.Delay(5, ct); // lets the client's loops run on the thread pool before the clock moves again
        }
    }

    /// <summary>Lets <paramref name="span"/> pass on the fake clock in 200 ms steps.</summary>
    public static async Task AdvanceAsync(FakeTimeProvider time, TimeSpan span, CancellationToken ct)
    {
        for (var advanced = TimeSpan.Zero; advanced < span; advanced += Step)
        {
            time.Advance(Step);
            await Task.Delay(5, ct);
        }
    }
}
