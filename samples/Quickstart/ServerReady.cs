using System.Diagnostics;
using Messaging.Rpc;

namespace Messaging.Samples.Quickstart;

/// <summary>
/// Waits until an RPC server has joined its consumer group and holds partitions: a call made before would wait in the
/// request topic for the group to form (the samples start the server and call it at once).
/// </summary>
internal static class ServerReady
{
    /// <summary>Returns how long joining took; throws <see cref="TimeoutException"/> after <paramref name="limit"/>.</summary>
    public static async Task<TimeSpan> WaitForAssignmentAsync(RpcServer server, TimeSpan limit)
    {
        var started = Stopwatch.StartNew();
        while (server.Assignment.Count == 0)
        {
            if (started.Elapsed > limit)
            {
                throw new TimeoutException($"The server did not join its group within {limit.TotalSeconds:F0} s.");
            }

            await Task.Delay(20);
        }

        return started.Elapsed;
    }
}
