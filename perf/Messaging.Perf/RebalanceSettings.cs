using System.Globalization;

namespace Messaging.Perf;

/// <summary>What a <c>rebalance</c> run does to a group, the same for every client.</summary>
/// <param name="Protocol">classic (JoinGroup/SyncGroup/Heartbeat) or consumer (KIP-848, the broker assigns).</param>
/// <param name="Assignor">The classic protocol's assignor: range (eager) or cooperative-sticky.</param>
/// <param name="Members">Members of the group in its steady state: one leaves, then one joins.</param>
/// <param name="SessionTimeoutMs">Classic: session.timeout.ms of every member (KIP-848: the broker's setting).</param>
/// <param name="HeartbeatMs">Classic: heartbeat.interval.ms of every member (KIP-848: the broker's setting).</param>
/// <param name="AutoCommitMs">auto.commit.interval.ms of every member (auto-commit on, as by default on both clients).</param>
/// <param name="TrickleMs">Every this many milliseconds one record goes to every partition.</param>
/// <param name="InitialRebalanceDelayMs">The embedded broker's group.initial.rebalance.delay (only the group's first join waits for it).</param>
internal sealed record RebalanceSettings(string Protocol, string Assignor, int Members, int Partitions, int SessionTimeoutMs, int HeartbeatMs, int AutoCommitMs, int FetchWaitMs,
    int TrickleMs, int InitialRebalanceDelayMs)
{
    public bool Classic => Protocol == "classic";

    /// <summary>
    /// How long one event may take before the run gives up. Generous: on the embedded broker a classic rebalance can
    /// repeat several times, each waiting most of a session timeout (see the README).
    /// </summary>
    public TimeSpan EventTimeout => TimeSpan.FromMilliseconds(Math.Max(120_000, 12L * SessionTimeoutMs));

    /// <summary>For headers and the ratio line: the group settings both clients run with.</summary>
    public string Describe() => Classic
        ? string.Create(CultureInfo.InvariantCulture,
            $"protocol=classic assignor={Assignor} members={Members} partitions={Partitions} session.timeout={SessionTimeoutMs}ms heartbeat.interval={HeartbeatMs}ms auto.commit.interval={AutoCommitMs}ms fetch.wait={FetchWaitMs}ms trickle={TrickleMs}ms group.initial.rebalance.delay={InitialRebalanceDelayMs}ms")
        : string.Create(CultureInfo.InvariantCulture,
            $"protocol=consumer(KIP-848) assignor=broker's members={Members} partitions={Partitions} session.timeout,heartbeat.interval=broker's auto.commit.interval={AutoCommitMs}ms fetch.wait={FetchWaitMs}ms trickle={TrickleMs}ms group.initial.rebalance.delay={InitialRebalanceDelayMs}ms");
}
