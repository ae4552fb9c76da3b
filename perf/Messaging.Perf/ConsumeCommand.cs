using System.Globalization;
using CompressionType = Messaging.CompressionType;

namespace Messaging.Perf;

/// <summary>
/// <c>consume</c>: a consumer throughput test modelled on <c>kafka-consumer-perf-test</c>: N records (distinct
/// JSON-like values by default, optional keys and headers) are produced once with Confluent.Kafka, then read from
/// offset 0 of every partition by each client in turn — msgs/s, MB/s, CPU µs per record, managed bytes allocated per
/// record and GC counts, for our client (pools on and/or off), Confluent.Kafka, or both alternately.
/// </summary>
/// <remarks>
/// <para>Like for like by default: <c>--path typed</c> compares our typed <c>ConsumeAsync</c> with Confluent's typed
/// <c>Consume</c>, both copying each value into a new array. <c>--path batch</c> (our zero-copy batches) and
/// <c>raw</c> are labelled as what they are: our faster APIs against Confluent's per-record one.</para>
/// <para>Steady state: each run uses a fresh consumer; the clock starts when the first record arrives (start-up —
/// connections, metadata, first fetch — is reported separately per client), and every record is checked (offsets in
/// sequence per partition, value equal to the one produced there). CPU is the process's CPU time minus the embedded
/// broker's thread (<c>rdk:mock</c>), whose share of a core is shown beside it. Allocations are managed bytes on
/// every thread: librdkafka's native allocations are invisible to them.</para>
/// <para>The embedded broker keeps about 5 MB per partition; the command checks that nothing produced was dropped,
/// and says so if it was.</para>
/// <para><c>--group</c> reads through a subscription instead (each run a fresh group id, one member, the same assignor
/// on both clients): the time to join the group is part of the start-up, so the throughput is the fetch pipeline's
/// in a group. <c>--compare-assign</c> adds our client reading the same data with <c>Assign</c> in the same rounds and
/// prints the group/assign ratio (reading through a group should cost under 10 %).</para>
/// </remarks>
internal sealed class ConsumeCommand : IPerfCommand
{
    public string Name => "consume";

    public string Usage =>
        "--path typed|batch|raw (typed: our ConsumeAsync vs Confluent's typed Consume; batch: our zero-copy ConsumeBatchAsync vs Confluent's per-record Consume) " +
        "--messages N (300000) --size BYTES (100) --payload distinct|same (distinct) --keys N (0) --headers N (0) --partitions N (8) --compression none|gzip|snappy|lz4|zstd (none) " +
        "--pools on|off|both (on) --client messaging|confluent|both (both) --confluent-profile default|tuned (tuned) --rounds N (3) " +
        "--fetch-wait MS (100) --max-poll-records N (2000) --passes N (1: read the data N times per round, seeking back to the start) " +
        "--brokers N (1) --bootstrap HOST:PORT (default: embedded broker) " + PerfSecurityOptions.Usage + " --alloc-profile (sample allocations by type per run) " +
        "--group (read through a group subscription, one member, instead of Assign; joining is start-up, not throughput) --compare-assign (with --group: also read with our Assign in the same rounds and print the group/assign ratio)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var settings = new ConsumeSettings(
            Messages: options.Int("messages", 300_000),
            Payloads: Payloads.FromOptions(options, options.Int("size", 100)),
            Partitions: options.Int("partitions", 8),
            Compression: Enum.Parse<CompressionType>(options.String("compression", "none"), ignoreCase: true),
            FetchWaitMs: options.Int("fetch-wait", 100),
            Path: options.String("path", "typed"),
            MaxPollRecords: options.Int("max-poll-records", 2000),
            Passes: options.Int("passes", 1),
            ConfluentProfile: options.String("confluent-profile", "tuned"),
            Group: options.Flag("group"));
        var compareAssign = options.Flag("compare-assign");
        var pools = options.String("pools", "on");
        var client = options.String("client", "both");
        var rounds = options.Int("rounds", 3);
        var brokers = options.Int("brokers", 1);
        var bootstrap = options.OptionalString("bootstrap");
        var securityOption = PerfSecurityOptions.Read(options);
        var allocProfile = options.Flag("alloc-profile");
        options.EnsureAllRead();
        if (client is not ("messaging" or "confluent" or "both") || pools is not ("on" or "off" or "both") || settings.Path is not ("batch" or "raw" or "typed")
            || settings.ConfluentProfile is not ("default" or "tuned") || rounds < 1 || settings.Messages < 1 || settings.Partitions < 1 || settings.Passes < 1)
        {
            throw new ArgumentException("--client is messaging|confluent|both, --pools on|off|both, --path typed|batch|raw, --confluent-profile default|tuned; --rounds, --messages, --partitions, --passes at least 1.");
        }

        if (compareAssign && (!settings.Group || client == "confluent"))
        {
            throw new ArgumentException("--compare-assign compares our client's group subscription with its Assign: it needs --group and --client messaging|both.");
        }

        var embedded = bootstrap is null;
        var broker = PerfBroker.Start(bootstrap, brokers);
        bootstrap = broker.BootstrapServers;
        if (settings.Group)
        {
            // A fresh group's first rebalance waits for more members (3 s by default); one member is all there is.
            broker.SetGroupInitialRebalanceDelay(TimeSpan.Zero);
        }

        PerfSecurity? security = null;
        try
        {
            security = PerfSecurity.Start(securityOption, broker, embedded);
            settings = settings with { Security = security };
            var clientBootstrap = security?.BootstrapServers ?? bootstrap;
            var topic = await broker.CreateTopicAsync("perf-consume-", settings.Partitions, cancellationToken).ConfigureAwait(false);
            long dataBytes;
            await using (var stored = new StoredRecords(bootstrap))
            {
                dataBytes = await ConsumeData.WriteAsync(bootstrap, topic, settings, stored, cancellationToken).ConfigureAwait(false);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"consume: {settings.Messages:N0} records of {settings.Payloads.ValueSize} B, read {settings.Passes} time(s) per round (~{dataBytes * settings.Passes / 1048576.0:0.0} MiB uncompressed), {settings.Partitions} partition(s), compression {settings.Codec}, " +
                $"{brokers} broker(s) {broker.Description}, {MachineDescription.Cores}"));
            Console.WriteLine(settings.Payloads.Describe());
            if (security is not null)
            {
                Console.WriteLine(security.Description);
            }

            Console.WriteLine(
                "path=" + settings.Path + " api=" + settings.ApiLabel + " codec=" + settings.Codec + " read=" + settings.ReadLabel + "; steady state (the clock starts at each consumer's first record; start-up reported apart); every record checked (offset sequence, value bytes); " +
                "allocation = managed heap only (librdkafka's native allocations are invisible); CPU excludes the embedded broker's thread");
            if (settings.Group)
            {
                Console.WriteLine("group: both clients read through a group subscription — one member, a fresh group id per run (nothing committed: every partition from its earliest offset), assignor " + ConsumeSettings.GroupAssignor +
                                  ", no commits; the time to join the group (subscribe → first record) is start-up, reported apart and excluded from the throughput (steady state, as with assign); " +
                                  (broker.IsEmbedded ? "the embedded broker's group.initial.rebalance.delay is 0" : "the cluster's group.initial.rebalance.delay applies to the start-up"));
            }

            var variants = Variants(client, pools, compareAssign);
            foreach (var variant in variants)
            {
                Console.WriteLine(variant + ": " + (variant == "confluent" ? ConfluentConsumeRun.Describe(settings) : MessagingConsumeRun.Describe(Subscribes(variant, settings) ? settings : settings with { Group = false }, UsesPools(variant))));
            }

            foreach (var variant in variants)
            {
                await RunOnceAsync(variant, clientBootstrap, topic, settings, cancellationToken).ConfigureAwait(false); // warm-up, not counted
            }

            var results = new Dictionary<string, List<ConsumeResult>>(StringComparer.Ordinal);
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var variant in variants)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var sampler = allocProfile ? new AllocationTracer() : null;
                    sampler?.Enable();
                    var result = await RunOnceAsync(variant, clientBootstrap, topic, settings, cancellationToken).ConfigureAwait(false);
                    (results.TryGetValue(variant, out var list) ? list : results[variant] = []).Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round} {variant,-16} {result}"));
                    sampler?.Disable();
                    sampler?.Print(Console.Out, 15);
                }
            }

            PrintSummary(results, variants, settings);
            return 0;
        }
        finally
        {
            if (security is not null)
            {
                await security.DisposeAsync().ConfigureAwait(false);
            }

            await broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Our variants read through the group unless named <c>…-assign</c> (the <c>--compare-assign</c> baseline).</summary>
    private static bool Subscribes(string variant, ConsumeSettings settings) => settings.Group && !variant.EndsWith(AssignSuffix, StringComparison.Ordinal);

    private static bool UsesPools(string variant) => !variant.StartsWith("messaging-nopool", StringComparison.Ordinal);

    private const string AssignSuffix = "-assign";

    private static List<string> Variants(string client, string pools, bool compareAssign)
    {
        var variants = new List<string>();
        if (client is "confluent" or "both")
        {
            variants.Add("confluent");
        }

        if (client is "messaging" or "both")
        {
            if (pools is "on" or "both")
            {
                variants.Add("messaging");
            }

            if (pools is "off" or "both")
            {
                variants.Add("messaging-nopool");
            }

            if (compareAssign)
            {
                // Each of our group variants with its Assign twin, run back to back in every round.
                var grouped = variants.FindAll(v => v.StartsWith("messaging", StringComparison.Ordinal));
                foreach (var variant in grouped)
                {
                    variants.Insert(variants.IndexOf(variant) + 1, variant + AssignSuffix);
                }
            }
        }

        return variants;
    }

    private static async Task<ConsumeResult> RunOnceAsync(string variant, string bootstrap, string topic, ConsumeSettings settings, CancellationToken cancellationToken)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return variant == "confluent"
            ? ConfluentConsumeRun.Run(bootstrap, topic, settings, cancellationToken)
            : await MessagingConsumeRun.RunAsync(bootstrap, topic, settings, UsesPools(variant), Subscribes(variant, settings), cancellationToken).ConfigureAwait(false);
    }

    private static void PrintSummary(Dictionary<string, List<ConsumeResult>> results, List<string> variants, ConsumeSettings settings)
    {
        Console.WriteLine("(medians of an even number of rounds are the mean of the middle two)");
        foreach (var variant in variants)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{variant,-16} median: {ConsumeResult.Median(results[variant])}"));
        }

        if (results.TryGetValue("confluent", out var theirsRuns) && (results.TryGetValue("messaging", out var oursRuns) || results.TryGetValue("messaging-nopool", out oursRuns)))
        {
            var ours = ConsumeResult.Median(oursRuns);
            var theirs = ConsumeResult.Median(theirsRuns);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"consume start-up ({(settings.Group ? "subscribe → first record, joining the group included" : "assign → first record")}, not in the throughput): messaging {ours.StartupMs:0} ms, confluent {theirs.StartupMs:0} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"consume ratio messaging/confluent: throughput={RatioLine.Ratio(ours.MessagesPerSecond, theirs.MessagesPerSecond):0.00} cpu={RatioLine.Ratio(ours.CpuMicrosPerMessage, theirs.CpuMicrosPerMessage):0.00} alloc={RatioLine.Ratio(ours.AllocatedPerMessage, theirs.AllocatedPerMessage):0.000} " +
                $"path={settings.Path}{(settings.Path == "typed" ? "" : "(not-like-for-like)")} read={settings.ReadLabel} {RatioLine.Scenario(settings.Payloads.Mode, settings.ApiLabel, settings.Codec)}"));
        }

        foreach (var variant in variants)
        {
            if (variant.EndsWith(AssignSuffix, StringComparison.Ordinal))
            {
                var group = ConsumeResult.Median(results[variant[..^AssignSuffix.Length]]);
                var assign = ConsumeResult.Median(results[variant]);
                var throughput = RatioLine.Ratio(group.MessagesPerSecond, assign.MessagesPerSecond);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"consume start-up {variant[..^AssignSuffix.Length]}: subscribe → first record {group.StartupMs:0} ms (joining the group included), assign → first record {assign.StartupMs:0} ms; neither is in the throughput"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"consume group/assign ratio {variant[..^AssignSuffix.Length]}: throughput={throughput:0.00} cpu={RatioLine.Ratio(group.CpuMicrosPerMessage, assign.CpuMicrosPerMessage):0.00} alloc={RatioLine.Ratio(group.AllocatedPerMessage, assign.AllocatedPerMessage):0.000} " +
                    $"({(throughput >= 0.9 ? "within" : "NOT within")} 10 % of assign) path={settings.Path} read=subscribe(one-member-group,join-excluded)/assign payload={settings.Payloads.Mode} codec={settings.Codec}"));
            }
        }
    }
}
