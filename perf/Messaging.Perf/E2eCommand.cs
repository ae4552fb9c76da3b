using System.Globalization;
using CompressionType = Messaging.CompressionType;

namespace Messaging.Perf;

/// <summary>
/// <c>e2e</c>: end-to-end latency, produce call → record consumed, for each client with its own producer and
/// consumer: records paced at <c>--rate</c>, each carrying its send time in its first 8 value bytes, read back by a
/// consumer that runs all the time; p50/p90/p99/max per round, medians, and the ratio messaging/confluent (below 1:
/// ours is faster).
/// </summary>
/// <remarks>Both clients' producers are configured as the <c>produce</c> command configures them and their
/// consumers as the <c>consume</c> command does (typed path). The latency includes linger, the produce round trip,
/// the consumer's fetch wait and the hand-over to the application. The embedded broker (librdkafka's mock) holds a
/// fetch that found nothing new for its whole wait, even when records arrive meanwhile — a real broker answers as
/// soon as they do — so on it the fetch wait adds up to <c>--fetch-wait</c> (default 5 ms, not the consumers'
/// usual 100+) to every record, equally for both clients.</remarks>
internal sealed class E2eCommand : IPerfCommand
{
    public string Name => "e2e";

    public string Usage =>
        "--messages N per round (50000) --rate N msgs/s (10000) --size BYTES (100, at least 8) --payload distinct|same (distinct) --keys N (0) --headers N (0) --partitions N (1) " +
        "--acks all|1|0 (all) --compression none|gzip|snappy|lz4|zstd (none) --compression-level N --linger MS (5) --batch-size BYTES (1000000) --idempotence true|false (true) " +
        "--fetch-wait MS (5: the embedded broker answers a fetch with nothing new only when its wait ends, even if records arrive meanwhile, so the wait bounds the latency) --client messaging|confluent|both (both) --rounds N (3) --warmup N (1) --brokers N (1) --bootstrap HOST:PORT (default: embedded broker)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var size = options.Int("size", 100);
        var compression = Enum.Parse<CompressionType>(options.String("compression", "none"), ignoreCase: true);
        var settings = new ProduceSettings(
            Messages: options.Int("messages", 50_000),
            Payloads: Payloads.FromOptions(options, size),
            Partitions: options.Int("partitions", 1),
            Acks: options.String("acks", "all"),
            Compression: compression,
            CompressionLevel: options.OptionalString("compression-level") is { } level ? int.Parse(level, CultureInfo.InvariantCulture) : null,
            LingerMs: options.Int("linger", 5),
            BatchSize: options.Int("batch-size", 1_000_000),
            Idempotence: bool.Parse(options.String("idempotence", "true")),
            Mode: "e2e",
            Threads: 1,
            Tasks: 1,
            Rate: options.Int("rate", 10_000));
        var consumeSettings = new ConsumeSettings(settings.Messages, settings.Payloads, settings.Partitions, compression, options.Int("fetch-wait", 5), "typed", 2000, 1, "tuned");
        var client = options.String("client", "both");
        var rounds = options.Int("rounds", 3);
        var warmups = options.Int("warmup", 1);
        var brokers = options.Int("brokers", 1);
        var bootstrap = options.OptionalString("bootstrap");
        options.EnsureAllRead();
        if (client is not ("messaging" or "confluent" or "both") || settings.Acks is not ("all" or "1" or "0") || size < E2eStamp.Size
            || settings.Messages < 1 || settings.Rate < 1 || rounds < 1 || warmups < 0 || settings.Partitions < 1)
        {
            throw new ArgumentException("--client is messaging|confluent|both, --acks all|1|0, --size at least 8; --messages, --rate, --rounds, --partitions at least 1.");
        }

        var broker = PerfBroker.Start(bootstrap, brokers);
        bootstrap = broker.BootstrapServers;
        try
        {
            var clients = client == "both" ? new[] { "confluent", "messaging" } : new[] { client };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"e2e: {settings.Messages:N0} records of {size} B per round at {settings.Rate:N0} msgs/s, produce call → consumed, {settings.Partitions} partition(s), {brokers} broker(s) {broker.Description}, {MachineDescription.Cores}"));
            Console.WriteLine(settings.Payloads.Describe());
            var sessions = new Dictionary<string, E2eSession>(StringComparer.Ordinal);
            try
            {
                foreach (var name in clients)
                {
                    var topic = await broker.CreateTopicAsync("perf-e2e-" + name + "-", settings.Partitions, cancellationToken).ConfigureAwait(false);
                    E2eSession session = name == "messaging"
                        ? new MessagingE2eSession(bootstrap, topic, settings, consumeSettings)
                        : new ConfluentE2eSession(bootstrap, topic, settings, consumeSettings);
                    await session.StartAsync(cancellationToken).ConfigureAwait(false); // disposes the session if it fails
                    sessions[name] = session;
                    Console.WriteLine(name + ": " + sessions[name].Description);
                }

                var results = new Dictionary<string, List<LatencySummary>>(StringComparer.Ordinal) { ["messaging"] = [], ["confluent"] = [] };
                for (var round = 1 - warmups; round <= rounds; round++)
                {
                    foreach (var name in clients)
                    {
                        var latency = await sessions[name].RunRoundAsync(cancellationToken).ConfigureAwait(false);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(round <= 0 ? "warm-up" : "round " + round.ToString(CultureInfo.InvariantCulture))} {name,-9} {latency}"));
                        if (round > 0)
                        {
                            results[name].Add(latency);
                        }
                    }
                }

                Console.WriteLine("(medians of an even number of rounds are the mean of the middle two)");
                foreach (var name in clients)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-9} median: {LatencySummary.Median(results[name])}"));
                }

                if (clients.Length == 2)
                {
                    var m = LatencySummary.Median(results["messaging"]);
                    var c = LatencySummary.Median(results["confluent"]);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"e2e-latency ratio messaging/confluent: p50={RatioLine.Ratio(m.P50, c.P50):0.00} p99={RatioLine.Ratio(m.P99, c.P99):0.00} {settings.ModeLabel} linger={settings.LingerMs}ms fetch-wait={consumeSettings.FetchWaitMs}ms {RatioLine.Scenario(settings.Payloads.Mode, "Produce+handler→ConsumeAsync/Produce+handler→Consume", settings.Codec)}"));
                }
            }
            finally
            {
                foreach (var session in sessions.Values)
                {
                    await session.DisposeAsync().ConfigureAwait(false);
                }
            }

            return 0;
        }
        finally
        {
            await broker.DisposeAsync().ConfigureAwait(false);
        }
    }
}
