using System.Globalization;
using Confluent.Kafka;
using Messaging.Consumer;
using CompressionType = Messaging.Compression.CompressionType;
using Deserializers = Messaging.Serialization.Deserializers;
using Ignore = Messaging.Serialization.Ignore;
using TopicPartitionOffset = Messaging.Consumer.TopicPartitionOffset;

namespace Messaging.Perf;

/// <summary>
/// <c>consume</c>: a consumer throughput test modelled on <c>kafka-consumer-perf-test</c>: N records of a fixed size are
/// produced once (with Confluent.Kafka), then read from the beginning of every partition by each client in turn —
/// msgs/s, MB/s, CPU µs per record, bytes allocated per record and GC counts, for our client (pools on and/or off),
/// Confluent.Kafka, or both alternately.
/// </summary>
/// <remarks>
/// <para>CPU is the process's CPU time minus the embedded broker's thread (<c>rdk:mock</c>), so it is what the client
/// spent (its threads, the GC, librdkafka's threads for Confluent); the broker thread's CPU is shown beside it, as a
/// share of one core over the run, to show when the broker is the ceiling. Allocations are managed bytes on every
/// thread (librdkafka's native allocations are not counted). Each run uses a fresh consumer and starts measuring at
/// assignment (connection and offset lookup included, as kafka-consumer-perf-test does); a warm-up round per client runs first.</para>
/// <para>The embedded broker keeps about 5 MB per partition and answers each Fetch with one stored batch per
/// partition; the command checks that nothing produced was dropped, and says how many partitions are needed if it was.</para>
/// </remarks>
internal sealed class ConsumeCommand : IPerfCommand
{
    public string Name => "consume";

    public string Usage =>
        "--messages N (300000) --size BYTES (100) --partitions N (8) --compression none|gzip|snappy|lz4|zstd (none) " +
        "--pools on|off|both (on) --client messaging|confluent|both (both) --confluent-profile default|tuned (tuned) --rounds N (3) " +
        "--fetch-wait MS (100) --path batch|raw|typed (batch) --max-poll-records N (2000) --passes N (1: read the data N times per round, seeking back to the start) " +
        "--brokers N (1) --bootstrap HOST:PORT (default: embedded broker) " +
        "--alloc-profile (sample allocations by type per run)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var config = new RunConfig(
            Messages: options.Int("messages", 300_000),
            Size: options.Int("size", 100),
            Partitions: options.Int("partitions", 8),
            Compression: Enum.Parse<CompressionType>(options.String("compression", "none"), ignoreCase: true),
            FetchWaitMs: options.Int("fetch-wait", 100),
            Path: options.String("path", "batch"),
            MaxPollRecords: options.Int("max-poll-records", 2000),
            Passes: options.Int("passes", 1),
            ConfluentProfile: options.String("confluent-profile", "tuned"));
        var pools = options.String("pools", "on");
        var client = options.String("client", "both");
        var rounds = options.Int("rounds", 3);
        var brokers = options.Int("brokers", 1);
        var bootstrap = options.OptionalString("bootstrap");
        var allocProfile = options.Flag("alloc-profile");
        options.EnsureAllRead();
        if (client is not ("messaging" or "confluent" or "both") || pools is not ("on" or "off" or "both") || config.Path is not ("batch" or "raw" or "typed")
            || config.ConfluentProfile is not ("default" or "tuned") || rounds < 1)
        {
            throw new ArgumentException("--client is messaging|confluent|both, --pools on|off|both, --path batch|raw|typed, --confluent-profile default|tuned, --rounds at least 1.");
        }

        var broker = PerfBroker.Start(bootstrap, brokers);
        bootstrap = broker.BootstrapServers;
        try
        {
            var topic = await broker.CreateTopicAsync("perf-consume-", config.Partitions, cancellationToken).ConfigureAwait(false);

            var produced = Produce(bootstrap, topic, config);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"consume: {config.Messages:N0} records of {config.Size} B, read {config.Passes} time(s) per round (~{produced.Bytes / 1048576.0:0.0} MiB uncompressed), {config.Partitions} partition(s), compression {config.Compression.ToString().ToLowerInvariant()}, " +
                $"{brokers} broker(s) {broker.Description}, {Environment.ProcessorCount} cores"));

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
            }

            foreach (var variant in variants)
            {
                Console.WriteLine(variant + ": " + (variant == "confluent" ? DescribeConfluent(config) : DescribeMessaging(config, variant == "messaging")));
            }

            foreach (var variant in variants)
            {
                await RunOnceAsync(variant, bootstrap, topic, config, cancellationToken).ConfigureAwait(false); // warm-up, not counted
            }

            var results = variants.ToDictionary(v => v, _ => new List<RunResult>(), StringComparer.Ordinal);
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var variant in variants)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var sampler = allocProfile ? new AllocationTracer() : null;
                    sampler?.Enable();
                    var result = await RunOnceAsync(variant, bootstrap, topic, config, cancellationToken).ConfigureAwait(false);
                    results[variant].Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round} {variant,-16} {result}"));
                    sampler?.Disable();
                    sampler?.Print(Console.Out, 15);
                }
            }

            foreach (var variant in variants)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{variant,-16} median: {RunResult.Median(results[variant])}"));
            }

            if (results.TryGetValue("confluent", out var theirsRuns) && (results.TryGetValue("messaging", out var oursRuns) || results.TryGetValue("messaging-nopool", out oursRuns)))
            {
                var ours = RunResult.Median(oursRuns);
                var theirs = RunResult.Median(theirsRuns);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"consume ratio messaging/confluent: throughput={ours.MessagesPerSecond / theirs.MessagesPerSecond:0.00} cpu={ours.CpuMicrosPerMessage / theirs.CpuMicrosPerMessage:0.00} alloc={(theirs.AllocatedPerMessage == 0 ? 0 : ours.AllocatedPerMessage / theirs.AllocatedPerMessage):0.000}"));
            }

            return 0;
        }
        finally
        {
            await broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<RunResult> RunOnceAsync(string variant, string bootstrap, string topic, RunConfig config, CancellationToken cancellationToken)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return variant == "confluent"
            ? RunConfluent(bootstrap, topic, config, cancellationToken)
            : await RunMessagingAsync(bootstrap, topic, config, pools: variant == "messaging", cancellationToken).ConfigureAwait(false);
    }

    private static KafkaConsumerOptions MessagingOptions(string bootstrap, RunConfig config, bool pools) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = "perf-messaging",
        FetchMaxWait = TimeSpan.FromMilliseconds(config.FetchWaitMs),
        MaxPartitionFetchBytes = 4 * 1024 * 1024,
        MaxPollRecords = config.MaxPollRecords,
        Pools = { Enabled = pools },
    };

    private static string DescribeMessaging(RunConfig config, bool pools)
    {
        var o = MessagingOptions("-", config, pools);
        var path = config.Path switch
        {
            "batch" => "ConsumeBatchAsync (raw records over pooled buffers, Value.Length read per record)",
            "raw" => "ConsumeRawAsync + Recycle per record",
            _ => "ConsumeAsync<Ignore, byte[]> (typed: value copied into a new byte[] per record)",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"Messaging {path}; fetch.max.wait={o.FetchMaxWait.TotalMilliseconds} ms, fetch.min.bytes={o.FetchMinBytes}, fetch.max.bytes={o.FetchMaxBytes}, max.partition.fetch.bytes={o.MaxPartitionFetchBytes}, " +
            $"max buffered={o.MaxBufferedBytes / 1048576} MiB, max.poll.records={o.MaxPollRecords}, check.crcs={o.CheckCrcs.ToString().ToLowerInvariant()}, fetch sessions={o.FetchSessions.ToString().ToLowerInvariant()}, pools={(pools ? "on (shared defaults)" : "off")}");
    }

    private static async Task<RunResult> RunMessagingAsync(string bootstrap, string topic, RunConfig config, bool pools, CancellationToken cancellationToken)
    {
        var options = MessagingOptions(bootstrap, config, pools);
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < config.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, StartOffset.Earliest));
        }

        await using var consumer = new KafkaConsumer<Ignore, byte[]?>(options, Deserializers.Ignore, Deserializers.ByteArray);
        var mockCpu = Measurement.ThreadCpu("rdk:mock");
        var measurement = Measurement.Start();
        consumer.Assign(assignment);
        long count = 0;
        long bytes = 0;
        for (var pass = 1; pass <= config.Passes; pass++)
        {
            if (pass > 1)
            {
                foreach (var entry in assignment)
                {
                    consumer.Seek(entry.TopicPartition, 0);
                }
            }

            long end = config.Messages * (long)pass;
            switch (config.Path)
            {
                case "batch":
                    while (count < end)
                    {
                        using var batch = await consumer.ConsumeBatchAsync(cancellationToken).ConfigureAwait(false);
                        foreach (ref readonly var record in batch.Records)
                        {
                            bytes += record.Value.Length;
                        }

                        count += batch.Count;
                    }

                    break;
                case "raw":
                    await foreach (var record in consumer.ConsumeRawAsync(cancellationToken).ConfigureAwait(false))
                    {
                        bytes += record.Value.Length;
                        record.Recycle();
                        if (++count == end)
                        {
                            break;
                        }
                    }

                    break;
                default:
                    await foreach (var result in consumer.ConsumeAsync(cancellationToken).ConfigureAwait(false))
                    {
                        bytes += result.Value?.Length ?? 0;
                        if (++count == end)
                        {
                            break;
                        }
                    }

                    break;
            }
        }

        measurement.Stop();
        var brokerCpu = Measurement.ThreadCpu("rdk:mock") - mockCpu;
        Check("messaging", count, bytes, config);
        return new RunResult(count, bytes, measurement, brokerCpu);
    }

    private static ConsumerConfig ConfluentConfig(string bootstrap, RunConfig config)
    {
        var c = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-confluent",
            GroupId = "perf-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = false,
            FetchWaitMaxMs = config.FetchWaitMs,
            ConsumeResultFields = "none",
        };
        if (config.ConfluentProfile == "tuned")
        {
            // librdkafka stops fetching for fetch.queue.backoff.ms (1 s) whenever its local queue holds
            // queued.min.messages (100,000): lift both, and fetch bigger chunks per partition.
            c.QueuedMinMessages = 10_000_000;
            c.FetchQueueBackoffMs = 0;
            c.MaxPartitionFetchBytes = 4 * 1024 * 1024;
        }

        return c;
    }

    private static string DescribeConfluent(RunConfig config)
    {
        var c = ConfluentConfig("-", config);
        return string.Create(CultureInfo.InvariantCulture,
            $"Confluent.Kafka {typeof(IConsumer<,>).Assembly.GetName().Version?.ToString(3)} ({config.ConfluentProfile}) Consume(1 s) loop, IConsumer<Ignore, byte[]>; fetch.wait.max.ms={c.FetchWaitMaxMs}, " +
            $"queued.min.messages={c.QueuedMinMessages?.ToString(CultureInfo.InvariantCulture) ?? "100000 (default)"}, fetch.queue.backoff.ms={c.FetchQueueBackoffMs?.ToString(CultureInfo.InvariantCulture) ?? "1000 (default)"}, " +
            $"max.partition.fetch.bytes={c.MaxPartitionFetchBytes?.ToString(CultureInfo.InvariantCulture) ?? "1048576 (default)"}, fetch.max.bytes=52428800 (default), queued.max.messages.kbytes=65536 (default), check.crcs=false (default), dotnet.consumer.consume.result.fields=none");
    }

    private static RunResult RunConfluent(string bootstrap, string topic, RunConfig config, CancellationToken cancellationToken)
    {
        var assignment = new List<Confluent.Kafka.TopicPartitionOffset>();
        for (var p = 0; p < config.Partitions; p++)
        {
            assignment.Add(new Confluent.Kafka.TopicPartitionOffset(topic, p, Offset.Beginning));
        }

        using var consumer = new ConsumerBuilder<Confluent.Kafka.Ignore, byte[]>(ConfluentConfig(bootstrap, config)).Build();
        var mockCpu = Measurement.ThreadCpu("rdk:mock");
        var measurement = Measurement.Start();
        consumer.Assign(assignment);
        long count = 0;
        long bytes = 0;
        for (var pass = 1; pass <= config.Passes; pass++)
        {
            if (pass > 1)
            {
                foreach (var entry in assignment)
                {
                    consumer.Seek(new Confluent.Kafka.TopicPartitionOffset(entry.TopicPartition, 0));
                }
            }

            long end = config.Messages * (long)pass;
            while (count < end)
            {
                var result = consumer.Consume(1000);
                if (result is null)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    continue;
                }

                bytes += result.Message.Value.Length;
                count++;
            }
        }

        measurement.Stop();
        var brokerCpu = Measurement.ThreadCpu("rdk:mock") - mockCpu;
        consumer.Close();
        Check("confluent", count, bytes, config);
        return new RunResult(count, bytes, measurement, brokerCpu);
    }

    private static void Check(string client, long count, long bytes, RunConfig config)
    {
        if (count != config.Total || bytes != config.Total * config.Size)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{client} read {count} records / {bytes} bytes, expected exactly {config.Total} / {config.Total * config.Size}."));
        }
    }

    /// <summary>Produces the records with Confluent.Kafka (large batches), then checks the broker kept all of them.</summary>
    private static (long Bytes, int Dummy) Produce(string bootstrap, string topic, RunConfig config)
    {
        var payload = new byte[config.Size];
        var random = new Random(42);
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)('A' + random.Next(26)); // as kafka-producer-perf-test: random upper-case letters
        }

        var producerConfig = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            LingerMs = 50,
            BatchSize = 1_000_000,
            BatchNumMessages = 100_000,
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
        };
        using (var producer = new ProducerBuilder<Null, byte[]>(producerConfig).Build())
        {
            var message = new Message<Null, byte[]> { Value = payload };
            for (var i = 0; i < config.Messages; i++)
            {
                producer.Produce(new Confluent.Kafka.TopicPartition(topic, i % config.Partitions), message);
            }

            if (producer.Flush(TimeSpan.FromMinutes(5)) != 0)
            {
                throw new InvalidOperationException("Confluent.Kafka did not deliver the test data within 5 minutes.");
            }
        }

        long stored = 0;
        using var probe = new ConsumerBuilder<Confluent.Kafka.Ignore, Confluent.Kafka.Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "perf-probe" }).Build();
        for (var p = 0; p < config.Partitions; p++)
        {
            var marks = probe.QueryWatermarkOffsets(new Confluent.Kafka.TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            if (marks.Low.Value != 0)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"The broker dropped the oldest records of partition {p} (its log starts at {marks.Low.Value}): the embedded broker keeps about 5 MB per partition. Use more --partitions or fewer --messages."));
            }

            stored += marks.High.Value;
        }

        if (stored != config.Messages)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The broker holds {stored} records, expected {config.Messages}."));
        }

        return ((long)config.Messages * (config.Size + 10), 0);
    }

    private sealed record RunConfig(int Messages, int Size, int Partitions, CompressionType Compression, int FetchWaitMs, string Path, int MaxPollRecords, int Passes, string ConfluentProfile)
    {
        public long Total => (long)Messages * Passes;
    }

    private sealed record RunResult(long Messages, long Bytes, TimeSpan Wall, TimeSpan ClientCpu, TimeSpan BrokerCpu, long Allocated, int Gen0, int Gen1, int Gen2)
    {
        public RunResult(long messages, long bytes, Measurement m, TimeSpan brokerCpu)
            : this(messages, bytes, m.Wall, m.Cpu - brokerCpu, brokerCpu, m.AllocatedBytes, m.Gen0, m.Gen1, m.Gen2)
        {
        }

        public double MessagesPerSecond => Messages / Wall.TotalSeconds;

        public double MegabytesPerSecond => Bytes / Wall.TotalSeconds / (1024 * 1024);

        public double CpuMicrosPerMessage => ClientCpu.TotalMicroseconds / Messages;

        public double AllocatedPerMessage => (double)Allocated / Messages;

        public double BrokerCoreShare => BrokerCpu / Wall;

        public static RunResult Median(List<RunResult> runs)
        {
            static T Mid<T>(List<RunResult> runs, Func<RunResult, double> key, Func<RunResult, T> pick) => pick(runs.OrderBy(key).ElementAt(runs.Count / 2));
            var mid = runs.OrderBy(r => r.MessagesPerSecond).ElementAt(runs.Count / 2);
            return mid with
            {
                ClientCpu = Mid(runs, r => r.CpuMicrosPerMessage, r => r.ClientCpu * ((double)mid.Messages / r.Messages)),
                Allocated = Mid(runs, r => r.AllocatedPerMessage, r => r.Allocated),
            };
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{MessagesPerSecond,11:N0} msgs/s {MegabytesPerSecond,7:0.0} MB/s  cpu {CpuMicrosPerMessage,6:0.000} µs/msg  alloc {AllocatedPerMessage,8:0.00} B/msg  gc {Gen0}/{Gen1}/{Gen2}  broker cpu {BrokerCoreShare,4:P0} of a core  wall {Wall.TotalMilliseconds,6:0} ms");
    }
}
