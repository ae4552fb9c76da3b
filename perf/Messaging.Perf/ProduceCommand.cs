using System.Globalization;
using Confluent.Kafka;
using Messaging.Compression;
using CompressionType = Messaging.Compression.CompressionType;
using Messaging.Producer;

namespace Messaging.Perf;

/// <summary>
/// <c>produce</c>: a producer throughput test modelled on <c>kafka-producer-perf-test</c>: N records of a fixed size
/// (null keys, random bytes), as fast as the client takes them, then a flush; msgs/s, MB/s, CPU µs per record and
/// bytes allocated per record, for our client, Confluent.Kafka, or both alternately.
/// </summary>
/// <remarks>
/// CPU is the process's CPU time minus the embedded broker's thread (<c>rdk:mock</c>), so it is what the client
/// spent (its threads, the GC, librdkafka's threads for Confluent). Allocations are managed bytes on every thread
/// (librdkafka's native allocations are not counted). Each run uses a fresh producer, warmed up with 300,000 records
/// that are not measured (ours fire-and-forget first, so its buffer pool reaches its steady size); before the
/// measured rounds every client runs one whole round unmeasured, so the JIT has settled.
/// </remarks>
internal sealed class ProduceCommand : IPerfCommand
{
    public string Name => "produce";

    public string Usage =>
        "--messages N (1000000) --size BYTES (100) --partitions N (1) --acks all|1|0 (all) --compression none|gzip|snappy|lz4|zstd (none) " +
        "--compression-level N (codec default) --linger MS (5) --batch-size BYTES (1000000) --brokers N (1) --idempotence true|false (true) " +
        "--client messaging|confluent|both (both) --rounds N (3) --mode callback|fire|async (callback) --bootstrap HOST:PORT (default: embedded broker) --alloc-trace (sample allocations by type)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var config = new RunConfig(
            Messages: options.Int("messages", 1_000_000),
            Size: options.Int("size", 100),
            Partitions: options.Int("partitions", 1),
            Acks: options.String("acks", "all"),
            Compression: Enum.Parse<CompressionType>(options.String("compression", "none"), ignoreCase: true),
            CompressionLevel: options.OptionalString("compression-level") is { } level ? int.Parse(level, CultureInfo.InvariantCulture) : null,
            LingerMs: options.Int("linger", 5),
            BatchSize: options.Int("batch-size", 1_000_000),
            Idempotence: bool.Parse(options.String("idempotence", "true")),
            Mode: options.String("mode", "callback"));
        var brokers = options.Int("brokers", 1);
        var client = options.String("client", "both");
        var rounds = options.Int("rounds", 3);
        var bootstrap = options.OptionalString("bootstrap");
        using var tracer = options.Flag("alloc-trace") ? new AllocationTracer() : null;
        options.EnsureAllRead();
        if (client is not ("messaging" or "confluent" or "both") || config.Mode is not ("callback" or "fire" or "async") || config.Acks is not ("all" or "1" or "0"))
        {
            throw new ArgumentException("--client is messaging|confluent|both, --mode callback|fire|async, --acks all|1|0.");
        }

        var broker = PerfBroker.Start(bootstrap, brokers);
        bootstrap = broker.BootstrapServers;
        try
        {
            var topic = await broker.CreateTopicAsync("perf-produce-", config.Partitions, cancellationToken).ConfigureAwait(false);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"produce: {config.Messages:N0} records of {config.Size} B, {config.Partitions} partition(s), {brokers} broker(s) {broker.Description}, {Environment.ProcessorCount} cores"));
            Console.WriteLine("messaging: " + Describe(config, confluent: false));
            Console.WriteLine("confluent: " + Describe(config, confluent: true));

            var results = new Dictionary<string, List<RunResult>>(StringComparer.Ordinal) { ["messaging"] = [], ["confluent"] = [] };
            var clients = client == "both" ? new[] { "confluent", "messaging" } : new[] { client };

            // Round 0 runs every client once unmeasured: the JIT reaches its steady state (tier-1 code for the
            // per-request paths too, which a short warm-up leaves in tier 0) before anything is counted.
            for (var round = 0; round <= rounds; round++)
            {
                foreach (var name in clients)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    tracer?.Clear();
                    var result = name == "messaging"
                        ? await RunMessagingAsync(bootstrap, topic, config, tracer, cancellationToken).ConfigureAwait(false)
                        : RunConfluent(bootstrap, topic, config, tracer);
                    if (round == 0)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up {name,-9} {result}"));
                        continue;
                    }

                    results[name].Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round} {name,-9} {result}"));
                    if (tracer is not null)
                    {
                        foreach (var (type, bytes) in tracer.Top(8))
                        {
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      ~{bytes,12:N0} B  {type}"));
                        }
                    }
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                }
            }

            foreach (var name in clients)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-9} median: {RunResult.Median(results[name])}"));
            }

            if (client == "both")
            {
                var ours = RunResult.Median(results["messaging"]);
                var theirs = RunResult.Median(results["confluent"]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"produce ratio messaging/confluent: throughput={ours.MessagesPerSecond / theirs.MessagesPerSecond:0.00} cpu={ours.CpuMicrosPerMessage / theirs.CpuMicrosPerMessage:0.00} alloc={(theirs.AllocatedPerMessage == 0 ? 0 : ours.AllocatedPerMessage / theirs.AllocatedPerMessage):0.00}"));
            }

            return 0;
        }
        finally
        {
            await broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Describe(RunConfig config, bool confluent)
    {
        var acks = config.Acks == "all" ? "all" : config.Acks;
        var compression = config.Compression.ToString().ToLowerInvariant() + (config.CompressionLevel is { } l ? " level " + l.ToString(CultureInfo.InvariantCulture) : "");
        return confluent
            ? string.Create(CultureInfo.InvariantCulture,
                $"Confluent.Kafka {typeof(IProducer<,>).Assembly.GetName().Version?.ToString(3)}: Produce(topic, Message, handler) with a reused Message (null key), acks={acks}, enable.idempotence={config.Idempotence.ToString().ToLowerInvariant()}, linger.ms={config.LingerMs}, batch.size={config.BatchSize}, batch.num.messages=1000000, compression.type={compression}, queue.buffering.max.messages=10000000, queue.buffering.max.kbytes=2097151, dotnet.producer.delivery.report.fields=none")
            : string.Create(CultureInfo.InvariantCulture,
                $"Messaging {(config.Mode == "callback" ? "Produce(topic, in ProducerRecord, handler) (null key)" : config.Mode == "fire" ? "Produce(topic, in ProducerRecord) fire-and-forget (null key)" : "ProduceAsync, 1000 awaited concurrently")}, acks={acks}, idempotence={config.Idempotence.ToString().ToLowerInvariant()}, linger={config.LingerMs} ms, batch.size={config.BatchSize}, compression={compression}, buffer.memory=32 MiB");
    }

    private static async Task<RunResult> RunMessagingAsync(string bootstrap, string topic, RunConfig config, AllocationTracer? tracer, CancellationToken cancellationToken)
    {
        var options = new KafkaProducerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-messaging",
            Acks = config.Acks switch { "all" => Messaging.Producer.Acks.All, "1" => Messaging.Producer.Acks.Leader, _ => Messaging.Producer.Acks.None },
            EnableIdempotence = config.Idempotence && config.Acks == "all",
            Linger = TimeSpan.FromMilliseconds(config.LingerMs),
            BatchSize = config.BatchSize,
            MaxRequestSize = Math.Max(1024 * 1024, config.BatchSize + 1024),
            BufferMemory = 32L * 1024 * 1024,
            CompressionType = config.Compression,
            CompressionLevel = config.CompressionLevel,
        };
        var payload = new byte[config.Size];
        Random.Shared.NextBytes(payload);
        await using var producer = new KafkaProducer(options);
        var counter = new DeliveryCounter();
        // Warm up fire-and-forget (the fastest producer): it fills buffer.memory once, so the pool is in its steady state.
        var warmup = Math.Min(config.Messages, 300_000);
        await ProduceMessagingAsync(producer, topic, payload, warmup, "fire", counter, cancellationToken).ConfigureAwait(false);
        await ProduceMessagingAsync(producer, topic, payload, warmup / 10, config.Mode, counter, cancellationToken).ConfigureAwait(false);
        counter.Reset();

        var mockCpu = Measurement.ThreadCpu("rdk:mock");
        tracer?.Enable();
        var measurement = Measurement.Start();
        await ProduceMessagingAsync(producer, topic, payload, config.Messages, config.Mode, counter, cancellationToken).ConfigureAwait(false);
        measurement.Stop();
        tracer?.Disable();
        var brokerCpu = Measurement.ThreadCpu("rdk:mock") - mockCpu;
        if (counter.Failed > 0 || (config.Mode != "fire" && counter.Delivered != config.Messages))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"messaging: {counter.Delivered} delivered, {counter.Failed} failed of {config.Messages}: {counter.LastError}"));
        }

        return new RunResult(config.Messages, config.Size, measurement, brokerCpu);
    }

    private static async Task ProduceMessagingAsync(KafkaProducer producer, string topic, byte[] payload, int count, string mode, DeliveryCounter counter, CancellationToken cancellationToken)
    {
        switch (mode)
        {
            case "callback":
                for (var i = 0; i < count; i++)
                {
                    producer.Produce(topic, new ProducerRecord { KeyIsNull = true, Value = payload }, DeliveryCounter.Handler, counter);
                }

                break;
            case "fire":
                for (var i = 0; i < count; i++)
                {
                    producer.Produce(topic, new ProducerRecord { KeyIsNull = true, Value = payload });
                }

                break;
            default:
                var window = new ValueTask<Messaging.Producer.DeliveryResult>[1000];
                var memory = payload.AsMemory();
                for (var i = 0; i < count; i += window.Length)
                {
                    var n = Math.Min(window.Length, count - i);
                    for (var j = 0; j < n; j++)
                    {
#pragma warning disable CA2012 // Each is awaited exactly once, below.
                        window[j] = producer.ProduceAsync(topic, null, memory, cancellationToken: cancellationToken);
#pragma warning restore CA2012
                    }

                    for (var j = 0; j < n; j++)
                    {
                        try
                        {
                            await window[j].ConfigureAwait(false);
                            counter.OnDelivered();
                        }
                        catch (ProduceException ex)
                        {
                            counter.OnFailed(ex);
                        }
                    }
                }

                break;
        }

        var flush = producer.FlushAsync(cancellationToken);
        if (await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken)).ConfigureAwait(false) != flush)
        {
            // A stall is a bug: say what the producer was waiting for (its internals, through reflection).
            var core = typeof(KafkaProducer).GetProperty("Core", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(producer)!;
            var state = core.GetType().GetMethod("DescribeState")!.Invoke(core, null);
            throw new TimeoutException("messaging: the flush did not complete within 60 s (" + counter.Delivered + " delivered, " + counter.Failed + " failed):\n" + state);
        }

        await flush.ConfigureAwait(false);
    }

    private static RunResult RunConfluent(string bootstrap, string topic, RunConfig config, AllocationTracer? tracer)
    {
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-confluent",
            Acks = config.Acks switch { "all" => Confluent.Kafka.Acks.All, "1" => Confluent.Kafka.Acks.Leader, _ => Confluent.Kafka.Acks.None },
            EnableIdempotence = config.Idempotence && config.Acks == "all",
            LingerMs = config.LingerMs,
            BatchSize = config.BatchSize,
            BatchNumMessages = 1_000_000,
            MessageMaxBytes = Math.Max(1024 * 1024, config.BatchSize + 1024),
            QueueBufferingMaxMessages = 10_000_000,
            QueueBufferingMaxKbytes = 2_097_151,
            CompressionType = config.Compression switch
            {
                CompressionType.Gzip => Confluent.Kafka.CompressionType.Gzip,
                CompressionType.Snappy => Confluent.Kafka.CompressionType.Snappy,
                CompressionType.Lz4 => Confluent.Kafka.CompressionType.Lz4,
                CompressionType.Zstd => Confluent.Kafka.CompressionType.Zstd,
                _ => Confluent.Kafka.CompressionType.None,
            },
            DeliveryReportFields = "none",
        };
        if (config.CompressionLevel is { } level)
        {
            producerConfig.CompressionLevel = level;
        }

        var payload = new byte[config.Size];
        Random.Shared.NextBytes(payload);
        using var producer = new ProducerBuilder<byte[]?, byte[]>(producerConfig).Build();
        var message = new Message<byte[]?, byte[]> { Key = null, Value = payload };
        var counter = new DeliveryCounter();
        Action<DeliveryReport<byte[]?, byte[]>> handler = counter.OnConfluentReport;
        var warmup = Math.Min(config.Messages, 300_000);
        ProduceConfluent(producer, topic, message, warmup, config.Mode, handler);
        counter.Reset();

        var mockCpu = Measurement.ThreadCpu("rdk:mock");
        tracer?.Enable();
        var measurement = Measurement.Start();
        ProduceConfluent(producer, topic, message, config.Messages, config.Mode, handler);
        measurement.Stop();
        tracer?.Disable();
        var brokerCpu = Measurement.ThreadCpu("rdk:mock") - mockCpu;
        if (counter.Failed > 0 || (config.Mode != "fire" && counter.Delivered != config.Messages))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"confluent: {counter.Delivered} delivered, {counter.Failed} failed of {config.Messages}: {counter.LastError}"));
        }

        return new RunResult(config.Messages, config.Size, measurement, brokerCpu);
    }

    private static void ProduceConfluent(IProducer<byte[]?, byte[]> producer, string topic, Message<byte[]?, byte[]> message, int count, string mode, Action<DeliveryReport<byte[]?, byte[]>> handler)
    {
        for (var i = 0; i < count; i++)
        {
            if (mode == "fire")
            {
                producer.Produce(topic, message);
            }
            else
            {
                producer.Produce(topic, message, handler);
            }
        }

        if (producer.Flush(TimeSpan.FromMinutes(5)) != 0)
        {
            throw new InvalidOperationException("Confluent.Kafka did not flush within 5 minutes.");
        }
    }

    private sealed record RunConfig(int Messages, int Size, int Partitions, string Acks, CompressionType Compression, int? CompressionLevel,
        int LingerMs, int BatchSize, bool Idempotence, string Mode);

    /// <summary>Counts deliveries; its handlers are cached delegates, so counting allocates nothing.</summary>
    private sealed class DeliveryCounter
    {
        public static readonly DeliveryHandler Handler = static (in Messaging.Producer.DeliveryResult _, ProduceException? error, object? state) =>
        {
            var counter = (DeliveryCounter)state!;
            if (error is null)
            {
                counter.OnDelivered();
            }
            else
            {
                counter.OnFailed(error);
            }
        };

        private long _delivered;
        private long _failed;

        public long Delivered => Volatile.Read(ref _delivered);

        public long Failed => Volatile.Read(ref _failed);

        public string? LastError { get; private set; }

        public void Reset()
        {
            _delivered = 0;
            _failed = 0;
        }

        public void OnDelivered() => Interlocked.Increment(ref _delivered);

        public void OnFailed(Exception error)
        {
            LastError = error.Message;
            Interlocked.Increment(ref _failed);
        }

        public void OnConfluentReport(DeliveryReport<byte[]?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                LastError = report.Error.Reason;
                Interlocked.Increment(ref _failed);
            }
            else
            {
                Interlocked.Increment(ref _delivered);
            }
        }
    }

    private sealed record RunResult(int Messages, int Size, TimeSpan Wall, TimeSpan ClientCpu, long Allocated, int Gen0, int Gen1, int Gen2)
    {
        public RunResult(int messages, int size, Measurement m, TimeSpan brokerCpu)
            : this(messages, size, m.Wall, m.Cpu - brokerCpu, m.AllocatedBytes, m.Gen0, m.Gen1, m.Gen2)
        {
        }

        public double MessagesPerSecond => Messages / Wall.TotalSeconds;

        public double MegabytesPerSecond => MessagesPerSecond * Size / (1024 * 1024);

        public double CpuMicrosPerMessage => ClientCpu.TotalMicroseconds / Messages;

        public double AllocatedPerMessage => (double)Allocated / Messages;

        public static RunResult Median(List<RunResult> runs)
        {
            var sorted = runs.OrderBy(r => r.MessagesPerSecond).ToList();
            var byCpu = runs.OrderBy(r => r.CpuMicrosPerMessage).ToList();
            var byAlloc = runs.OrderBy(r => r.AllocatedPerMessage).ToList();
            var mid = sorted[sorted.Count / 2];
            return mid with
            {
                ClientCpu = byCpu[byCpu.Count / 2].ClientCpu * ((double)mid.Messages / byCpu[byCpu.Count / 2].Messages),
                Allocated = byAlloc[byAlloc.Count / 2].Allocated,
            };
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{MessagesPerSecond,12:N0} msgs/s {MegabytesPerSecond,8:0.0} MB/s  cpu {CpuMicrosPerMessage,6:0.000} µs/msg  alloc {AllocatedPerMessage,8:0.0} B/msg  wall {Wall.TotalMilliseconds,7:0} ms  gc {Gen0}/{Gen1}/{Gen2}");
    }
}
