using System.Diagnostics;

namespace Messaging.Perf;

/// <summary>Waits for a condition, polling every millisecond (outside anything measured), with a deadline.</summary>
internal static class Poll
{
    /// <summary>Returns once <paramref name="condition"/> holds; throws a <see cref="TimeoutException"/> saying <paramref name="failure"/> after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string failure, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException(failure + " within " + timeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s.");
            }

            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }
}
