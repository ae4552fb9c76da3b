namespace Messaging.Core.Tests.Support;

/// <summary>Measures what code allocates once warm, robustly enough for a busy parallel test run.</summary>
internal static class Allocations
{
    /// <summary>
    /// Bytes this thread allocates in <paramref name="callsPerRound"/> calls, in the steadiest of three rounds. Scratch
    /// arrays rented from the shared ArrayPool can be trimmed by the GC under memory pressure, so one round in a busy
    /// run may refill them; an allocation on every call still shows in every round.
    /// </summary>
    public static long SteadyState(Action call, int callsPerRound)
    {
        call(); // warm: first-use allocations (pools, lazy state) are not steady state
        long least = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerRound; i++)
            {
                call();
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
