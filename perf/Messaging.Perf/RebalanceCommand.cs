using System.Globalization;

namespace Messaging.Perf;

/// <summary>
/// <c>rebalance</c>: how long a group stops consuming when a member leaves and when one joins. Each client gets its
/// own group of <c>--members</c> members on one topic that a trickle producer feeds (one record per partition every
/// <c>--trickle-ms</c>); in every round the oldest member of each group leaves (stops reading, then closes: revocation,
/// commit, LeaveGroup) and then a new member joins, and the time until every partition is consumed again by its new
/// owner is measured (see <see cref="RebalanceGroup"/>). Medians over the rounds, then
/// <c>rebalance ratio messaging/confluent: leave=X join=Y</c> (lower is better).
/// </summary>
/// <remarks>
/// Both clients run with the same group settings — protocol, assignor, session timeout, heartbeat interval,
/// auto-commit interval, fetch wait — and both groups live through the whole run (each reads the trickle all the time),
/// so each event sees the same background load; the events alternate between the clients. A warm-up round per client
/// is not counted.
/// </remarks>
internal sealed class RebalanceCommand : IPerfCommand
{
    public string Name => "rebalance";

    public string Usage =>
        "--client messaging|confluent|both (both) --protocol classic|consumer (classic; consumer = KIP-848, the broker assigns) --assignor range|cooperative-sticky (range; classic only) " +
        "--rounds N (5) --members N (3) --partitions N (12) --session-timeout MS (10000) --heartbeat MS (1000) (classic; KIP-848 takes both from the broker) --auto-commit MS (1000) " +
        "--fetch-wait MS (10) --trickle-ms MS (50: one record per partition every MS) --initial-rebalance-delay MS (0: the embedded broker's group.initial.rebalance.delay) " +
        "--brokers N (1) --bootstrap HOST:PORT (default: embedded broker)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var settings = new RebalanceSettings(
            Protocol: options.String("protocol", "classic"),
            Assignor: options.String("assignor", "range"),
            Members: options.Int("members", 3),
            Partitions: options.Int("partitions", 12),
            SessionTimeoutMs: options.Int("session-timeout", 10_000),
            HeartbeatMs: options.Int("heartbeat", 1_000),
            AutoCommitMs: options.Int("auto-commit", 1_000),
            FetchWaitMs: options.Int("fetch-wait", 10),
            TrickleMs: options.Int("trickle-ms", 50),
            InitialRebalanceDelayMs: options.Int("initial-rebalance-delay", 0));
        var client = options.String("client", "both");
        var rounds = options.Int("rounds", 5);
        var brokers = options.Int("brokers", 1);
        var bootstrap = options.OptionalString("bootstrap");
        options.EnsureAllRead();
        if (client is not ("messaging" or "confluent" or "both") || settings.Protocol is not ("classic" or "consumer") || settings.Assignor is not ("range" or "cooperative-sticky")
            || rounds < 1 || settings.Members < 2 || settings.Partitions < settings.Members || settings.TrickleMs < 1 || settings.HeartbeatMs < 1 || settings.SessionTimeoutMs <= settings.HeartbeatMs)
        {
            throw new ArgumentException("--client is messaging|confluent|both, --protocol classic|consumer, --assignor range|cooperative-sticky; --rounds and --trickle-ms at least 1, --members at least 2, " +
                                        "--partitions at least --members, --session-timeout above --heartbeat.");
        }

        var broker = PerfBroker.Start(bootstrap, brokers);
        bootstrap = broker.BootstrapServers;
        var groups = new List<RebalanceGroup>();
        Trickle? trickle = null;
        try
        {
            broker.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(settings.InitialRebalanceDelayMs));
            var topic = await broker.CreateTopicAsync("perf-rebalance-", settings.Partitions, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rebalance: {settings.Members} members per group, {settings.Partitions} partition(s), one record per partition every {settings.TrickleMs} ms, {brokers} broker(s) {broker.Description}, {MachineDescription.Cores}"));
            Console.WriteLine("group settings, the same on both clients: " + settings.Describe() +
                              (broker.IsEmbedded ? "" : " (a real cluster: its own group.initial.rebalance.delay.ms applies)") +
                              (settings.Classic ? "" : "; KIP-848 session timeout, heartbeat interval and assignor are the broker's (the embedded broker's defaults), the same for both clients"));
            Console.WriteLine("measured: from the moment a member starts leaving (after it stopped reading) or a new member is created, until every partition is consumed again — owned once, balanced, and a record produced after the event " +
                              "delivered by its new owner (partitions that never stopped count at once); the last partition's time; one uncounted warm-up round per client; each client has its own group, both groups read all the time");
            foreach (var name in Clients(client))
            {
                Console.WriteLine(name + ": " + (name == "confluent" ? ConfluentRebalanceMember.Describe(settings) : MessagingRebalanceMember.Describe(settings)));
            }

            trickle = new Trickle(bootstrap, topic, settings.Partitions, settings.TrickleMs);
            foreach (var name in Clients(client))
            {
                var group = new RebalanceGroup(name, bootstrap, topic, settings);
                groups.Add(group);
                var formed = await group.FormAsync(cancellationToken).ConfigureAwait(false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-10} group of {settings.Members} formed and consuming every partition in {formed:N0} ms (not counted)"));
            }

            var leaves = new Dictionary<string, List<double>>(StringComparer.Ordinal);
            var joins = new Dictionary<string, List<double>>(StringComparer.Ordinal);
            for (var round = 0; round <= rounds; round++)
            {
                foreach (var group in groups)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var leave = await group.LeaveAsync(cancellationToken).ConfigureAwait(false);
                    var join = await group.JoinAsync(cancellationToken).ConfigureAwait(false);
                    trickle.ThrowIfFailed();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {(round == 0 ? "warm-up" : "round " + round),-8} {group.Client,-10} leave {leave,8:N0} ms   join {join,8:N0} ms"));
                    if (round > 0)
                    {
                        (leaves.TryGetValue(group.Client, out var l) ? l : leaves[group.Client] = []).Add(leave);
                        (joins.TryGetValue(group.Client, out var j) ? j : joins[group.Client] = []).Add(join);
                    }
                }
            }

            Console.WriteLine("(medians of an even number of rounds are the mean of the middle two)");
            foreach (var group in groups)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{group.Client,-10} median: leave {Medians.Of(leaves[group.Client]),8:N0} ms   join {Medians.Of(joins[group.Client]),8:N0} ms   (every partition consumed again)"));
            }

            if (groups.Count == 2)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rebalance ratio messaging/confluent: leave={RatioLine.Ratio(Medians.Of(leaves["messaging"]), Medians.Of(leaves["confluent"])):0.00} join={RatioLine.Ratio(Medians.Of(joins["messaging"]), Medians.Of(joins["confluent"])):0.00} " +
                    $"(lower is better) {settings.Describe()}"));
            }

            return 0;
        }
        finally
        {
            foreach (var group in groups)
            {
                await group.DisposeAsync().ConfigureAwait(false);
            }

            trickle?.Dispose();
            await broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string[] Clients(string client) => client switch
    {
        "both" => ["confluent", "messaging"],
        _ => [client],
    };
}
