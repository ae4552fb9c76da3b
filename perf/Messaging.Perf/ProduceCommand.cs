using System.Globalization;
using CompressionType = Messaging.CompressionType;

namespace Messaging.Perf;

/// <summary>
/// <c>produce</c>: a producer test modelled on <c>kafka-producer-perf-test</c>, run like for like on both clients: the
/// same records (distinct JSON-like values by default, optional keys and headers), the same settings, and the same
/// calling pattern (<c>--mode</c>): callback, fire-and-forget, many tasks awaiting ProduceAsync, or a paced rate with
/// ack latencies. Prints msgs/s, MB/s, CPU µs per record and managed bytes allocated per record per round, medians and
/// the ratio messaging/confluent.
/// </summary>
/// <remarks>
/// CPU is the process's CPU time minus the embedded broker's thread (<c>rdk:mock</c>), so it is what the client
/// spent (its threads, the GC, librdkafka's threads for Confluent). Allocations are managed bytes on every thread:
/// librdkafka's native allocations are invisible to them. Each client keeps one producer and its own topic for the
/// whole run, runs <c>--warmup</c> rounds unmeasured first (JIT, pools and the broker's allocator settle), and after
/// every round the broker's stored record count for its topic is checked against what it produced.
/// </remarks>
internal sealed class ProduceCommand : IPerfCommand
{
    public string Name => "produce";

    public string Usage =>
        "--mode callback|fire|tasks|latency (callback): callback = Produce with a delivery handler on both; fire = Produce without one (Confluent's delivery reports off); " +
        "tasks = --tasks N (100) loops each awaiting ProduceAsync on both; latency = ProduceAsync paced at --rate N msgs/s (10000), ack latency p50/p90/p99/max. " +
        "--messages N (1000000) --size BYTES (100; up to 16 MiB) --payload distinct|same (distinct) --keys N distinct keys (0: null keys) --headers N per record (0) " +
        "--threads N producing threads for callback|fire (1) --partitions N (1) --acks all|1|0 (all) --compression none|gzip|snappy|lz4|zstd (none) " +
        "--compression-level N (codec default) --linger MS (5) --batch-size BYTES (1000000) --brokers N (1) --idempotence true|false (true) " +
        "--client messaging|confluent|both (both) --rounds N (3) --warmup N unmeasured rounds (2) --bootstrap HOST:PORT (default: embedded broker) " + PerfSecurityOptions.Usage + " --alloc-trace (sample allocations by type)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var size = options.Int("size", 100);
        var settings = new ProduceSettings(
            Messages: options.Int("messages", 1_000_000),
            Payloads: Payloads.FromOptions(options, size),
            Partitions: options.Int("partitions", 1),
            Acks: options.String("acks", "all"),
            Compression: Enum.Parse<CompressionType>(options.String("compression", "none"), ignoreCase: true),
            CompressionLevel: options.OptionalString("compression-level") is { } level ? int.Parse(level, CultureInfo.InvariantCulture) : null,
            LingerMs: options.Int("linger", 5),
            BatchSize: options.Int("batch-size", 1_000_000),
            Idempotence: bool.Parse(options.String("idempotence", "true")),
            Mode: options.String("mode", "callback"),
            Threads: options.Int("threads", 1),
            Tasks: options.Int("tasks", 100),
            Rate: options.Int("rate", 10_000));
        var brokers = options.Int("brokers", 1);
        var client = options.String("client", "both");
        var rounds = options.Int("rounds", 3);
        var warmups = options.Int("warmup", 2);
        var bootstrap = options.OptionalString("bootstrap");
        var securityOption = PerfSecurityOptions.Read(options);
        using var tracer = options.Flag("alloc-trace") ? new AllocationTracer() : null;
        using var batchPool = new PoolAllocationListener("producer-batches");
        options.EnsureAllRead();
        if (client is not ("messaging" or "confluent" or "both") || settings.Mode is not ("callback" or "fire" or "tasks" or "latency") || settings.Acks is not ("all" or "1" or "0")
            || settings.Messages < 1 || rounds < 1 || warmups < 0 || settings.Threads < 1 || settings.Tasks < 1 || settings.Rate < 1 || settings.Partitions < 1)
        {
            throw new ArgumentException("--client is messaging|confluent|both, --mode callback|fire|tasks|latency, --acks all|1|0; --messages, --rounds, --threads, --tasks, --rate, --partitions at least 1.");
        }

        var embedded = bootstrap is null;
        var broker = PerfBroker.Start(bootstrap, brokers);
        bootstrap = broker.BootstrapServers;
        PerfSecurity? security = null;
        try
        {
            security = PerfSecurity.Start(securityOption, broker, embedded);
            settings = settings with { Security = security };
            var clientBootstrap = security?.BootstrapServers ?? bootstrap;
            var clients = client == "both" ? new[] { "confluent", "messaging" } : new[] { client };
            var p = settings.Payloads;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"produce: {settings.Messages:N0} records of {settings.Payloads.ValueSize} B per round, {settings.Partitions} partition(s), {brokers} broker(s) {broker.Description}, {MachineDescription.Cores}"));
            Console.WriteLine(p.Describe());
            if (security is not null)
            {
                Console.WriteLine(security.Description);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{settings.ModeLabel} api={settings.ApiLabel} codec={settings.Codec}; allocation = managed heap only (librdkafka's native allocations are invisible); CPU excludes the embedded broker's thread"));

            // One producer per client for the whole run, as an application keeps one, each with its own topic so the
            // broker's count of stored records checks that client alone.
            await using var stored = new StoredRecords(bootstrap);
            var sessions = new Dictionary<string, ProduceSession>(StringComparer.Ordinal);
            try
            {
                foreach (var name in clients)
                {
                    var topic = await broker.CreateTopicAsync("perf-produce-" + name + "-", settings.Partitions, cancellationToken).ConfigureAwait(false);
                    sessions[name] = name == "messaging"
                        ? await MessagingProduceSession.StartAsync(clientBootstrap, topic, settings, cancellationToken).ConfigureAwait(false)
                        : ConfluentProduceSession.Start(clientBootstrap, topic, settings);
                    Console.WriteLine(name + ": " + sessions[name].Description);
                }

                var results = await RunRoundsAsync(sessions, clients, settings, rounds, warmups, stored, batchPool, tracer, cancellationToken).ConfigureAwait(false);
                PrintSummary(results, clients, settings);
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
            if (security is not null)
            {
                await security.DisposeAsync().ConfigureAwait(false);
            }

            await broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<Dictionary<string, List<ProduceResult>>> RunRoundsAsync(Dictionary<string, ProduceSession> sessions, string[] clients, ProduceSettings settings,
        int rounds, int warmups, StoredRecords stored, PoolAllocationListener batchPool, AllocationTracer? tracer, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, List<ProduceResult>>(StringComparer.Ordinal) { ["messaging"] = [], ["confluent"] = [] };
        for (var round = 1 - warmups; round <= rounds; round++)
        {
            foreach (var name in clients)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var session = sessions[name];
                if (name == "messaging" && round == 1 - warmups && settings.Mode != "fire")
                {
                    // Fire-and-forget first, unmeasured: the fastest producer fills buffer.memory once, so the buffer pool has its steady size.
                    await session.RunAsync("fire", cancellationToken).ConfigureAwait(false);
                }

                GC.Collect();
                GC.WaitForPendingFinalizers();
                tracer?.Clear();
                var mockCpu = Measurement.ThreadCpu("rdk:mock");
                var poolBefore = batchPool.Bytes;
                tracer?.Enable();
                var measurement = Measurement.Start();
                var latency = await session.RunAsync(settings.Mode, cancellationToken).ConfigureAwait(false);
                measurement.Stop();
                tracer?.Disable();
                var result = ProduceResult.From(settings.Messages, settings.Payloads.RecordBytes, measurement, Measurement.ThreadCpu("rdk:mock") - mockCpu, name == "messaging" ? batchPool.Bytes - poolBefore : 0, latency);
                await stored.ExpectAsync(name, session.Topic, settings.Partitions, session.Produced, cancellationToken).ConfigureAwait(false);
                var poolNote = name == "messaging" && result.PoolFillPerMessage > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"; the pool has allocated {batchPool.Bytes / 1048576.0:0.0} MiB in all")
                    : "";
                if (round <= 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up {name,-9} {result.Figures}{poolNote}{Latency(result)}"));
                    continue;
                }

                results[name].Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round} {name,-9} {result.Figures}{poolNote}{Latency(result)}"));
                tracer?.Print(Console.Out);
            }
        }

        return results;
    }

    private static string Latency(ProduceResult result) => result.Latency is null ? "" : "\n      " + result.Latency;

    private static void PrintSummary(Dictionary<string, List<ProduceResult>> results, string[] clients, ProduceSettings settings)
    {
        Console.WriteLine("(stored record counts checked against the broker after every round; medians of an even number of rounds are the mean of the middle two)");
        foreach (var name in clients)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-9} median: {ProduceResult.Median(results[name])}"));
        }

        if (clients.Length < 2)
        {
            return;
        }

        var m = ProduceResult.Median(results["messaging"]);
        var c = ProduceResult.Median(results["confluent"]);
        var scenario = RatioLine.Scenario(settings.Payloads.Mode, settings.ApiLabel, settings.Codec);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"produce ratio messaging/confluent: throughput={RatioLine.Ratio(m.MessagesPerSecond, c.MessagesPerSecond):0.00} cpu={RatioLine.Ratio(m.CpuMicrosPerMessage, c.CpuMicrosPerMessage):0.00} alloc={RatioLine.Ratio(m.AllocatedPerMessage, c.AllocatedPerMessage):0.00} {settings.ModeLabel} {scenario}"));
        if (m.Latency is { } ml && c.Latency is { } cl)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"produce-latency ratio messaging/confluent: p50={RatioLine.Ratio(ml.P50, cl.P50):0.00} p99={RatioLine.Ratio(ml.P99, cl.P99):0.00} {settings.ModeLabel} linger={settings.LingerMs}ms {scenario}"));
        }
    }
}
