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
/// (librdkafka's native allocations are not counted). Each client keeps one producer for the whole run, as an
/// application does, and runs two whole rounds unmeasured first (JIT, pools and the broker's allocator settle). The
/// payload is random upper-case letters, as <c>kafka-producer-perf-test</c> makes it, so compression has work to do.
/// </remarks>
internal sealed class ProduceCommand : IPerfCommand
{
    public string Name => "produce";

    public string Usage =>
        "--messages N (1000000) --size BYTES (100) --partitions N (1) --acks all|1|0 (all) --compression none|gzip|snappy|lz4|zstd (none) " +
        "--compression-level N (codec default) --linger MS (5) --batch-size BYTES (1000000) --brokers N (1) --idempotence true|false (true) " +
        "--client messaging|confluent|both (both) --rounds N (3) --warmup N unmeasured rounds (2) --mode callback|fire|async (callback) --bootstrap HOST:PORT (default: embedded broker) --alloc-trace (sample allocations by type)";

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
        var warmups = options.Int("warmup", 2);
        var bootstrap = options.OptionalString("bootstrap");
        using var tracer = options.Flag("alloc-trace") ? new AllocationTracer() : null;
        using var batchPool = new PoolAllocationListener("producer-batches");
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
            var payload = Payload(config.Size);

            // One producer per client for the whole run, as an application keeps one. The warm-up rounds are
            // unmeasured: the JIT (tiered compilation settles after a few seconds of activity), the clients' pools and
            // the broker's allocator reach their steady state before anything counts.
            await using var ours = clients.Contains("messaging") ? await MessagingSession.StartAsync(bootstrap, topic, config, payload, cancellationToken).ConfigureAwait(false) : null;
            using var theirs = clients.Contains("confluent") ? ConfluentSession.Start(bootstrap, topic, config, payload) : null;
            for (var round = 1 - warmups; round <= rounds; round++)
            {
                foreach (var name in clients)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    tracer?.Clear();
                    var mockCpu = Measurement.ThreadCpu("rdk:mock");
                    var poolBefore = batchPool.Bytes;
                    tracer?.Enable();
                    var measurement = Measurement.Start();
                    if (name == "messaging")
                    {
                        if (round == 1 - warmups)
                        {
                            // Fire-and-forget first: the fastest producer fills buffer.memory once, so the buffer pool has its steady size.
                            await ours!.RunAsync(config.Messages, "fire", cancellationToken).ConfigureAwait(false);
                        }

                        await ours!.RunAsync(config.Messages, config.Mode, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        theirs!.Run(config.Messages);
                    }

                    measurement.Stop();
                    tracer?.Disable();
                    var result = new RunResult(config.Messages, config.Size, measurement, Measurement.ThreadCpu("rdk:mock") - mockCpu, batchPool.Bytes - poolBefore);
                    var poolNote = name == "messaging" && result.PoolFill > 0
                        ? string.Create(CultureInfo.InvariantCulture, $"; the pool has allocated {batchPool.Bytes / 1048576.0:0.0} MiB in all, bound {ours!.BufferMemory / 1048576.0:0} MiB")
                        : "";
                    if (round <= 0)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up {name,-9} {result}{poolNote}"));
                        continue;
                    }

                    results[name].Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round} {name,-9} {result}{poolNote}"));
                    tracer?.Print(Console.Out);
                }
            }

            foreach (var name in clients)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-9} median: {RunResult.Median(results[name])}"));
            }

            if (client == "both")
            {
                var m = RunResult.Median(results["messaging"]);
                var c = RunResult.Median(results["confluent"]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"produce ratio messaging/confluent: throughput={m.MessagesPerSecond / c.MessagesPerSecond:0.00} cpu={m.CpuMicrosPerMessage / c.CpuMicrosPerMessage:0.00} alloc={(c.AllocatedPerMessage == 0 ? 0 : m.AllocatedPerMessage / c.AllocatedPerMessage):0.00}"));
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

    /// <summary>Random upper-case letters, as <c>kafka-producer-perf-test</c> makes its payload: compressible like text.</summary>
    private static byte[] Payload(int size)
    {
        var payload = new byte[size];
        var random = new Random(42);
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)('A' + random.Next(26));
        }

        return payload;
    }

    /// <summary>Our producer, kept for the whole run.</summary>
    private sealed class MessagingSession : IAsyncDisposable
    {
        private readonly KafkaProducer _producer;
        private readonly string _topic;
        private readonly RunConfig _config;
        private readonly byte[] _payload;
        private readonly DeliveryCounter _counter = new();

        private MessagingSession(KafkaProducer producer, string topic, RunConfig config, byte[] payload)
        {
            _producer = producer;
            _topic = topic;
            _config = config;
            _payload = payload;
        }

        public const long BufferMemoryBytes = 32L * 1024 * 1024;

        public long BufferMemory => BufferMemoryBytes;

        public static async Task<MessagingSession> StartAsync(string bootstrap, string topic, RunConfig config, byte[] payload, CancellationToken cancellationToken)
        {
            var producer = new KafkaProducer(new KafkaProducerOptions
            {
                BootstrapServers = bootstrap,
                ClientId = "perf-messaging",
                Acks = config.Acks switch { "all" => Messaging.Producer.Acks.All, "1" => Messaging.Producer.Acks.Leader, _ => Messaging.Producer.Acks.None },
                EnableIdempotence = config.Idempotence && config.Acks == "all",
                Linger = TimeSpan.FromMilliseconds(config.LingerMs),
                BatchSize = config.BatchSize,
                MaxRequestSize = Math.Max(1024 * 1024, config.BatchSize + 1024),
                BufferMemory = BufferMemoryBytes,
                CompressionType = config.Compression,
                CompressionLevel = config.CompressionLevel,
            });
            await producer.ProduceAsync(topic, (byte[]?)null, payload, cancellationToken: cancellationToken).ConfigureAwait(false); // metadata, connection, producer id
            return new MessagingSession(producer, topic, config, payload);
        }

        public async Task RunAsync(int count, string mode, CancellationToken cancellationToken)
        {
            _counter.Reset();
            switch (mode)
            {
                case "callback":
                    for (var i = 0; i < count; i++)
                    {
                        _producer.Produce(_topic, new ProducerRecord { KeyIsNull = true, Value = _payload }, DeliveryCounter.Handler, _counter);
                    }

                    break;
                case "fire":
                    for (var i = 0; i < count; i++)
                    {
                        _producer.Produce(_topic, new ProducerRecord { KeyIsNull = true, Value = _payload });
                    }

                    break;
                default:
                    var window = new ValueTask<Messaging.Producer.DeliveryResult>[10_000];
                    var memory = _payload.AsMemory();
                    for (var i = 0; i < count; i += window.Length)
                    {
                        var n = Math.Min(window.Length, count - i);
                        for (var j = 0; j < n; j++)
                        {
#pragma warning disable CA2012 // Each is awaited exactly once, below.
                            window[j] = _producer.ProduceAsync(_topic, null, memory, cancellationToken: cancellationToken);
#pragma warning restore CA2012
                        }

                        for (var j = 0; j < n; j++)
                        {
                            try
                            {
                                await window[j].ConfigureAwait(false);
                                _counter.OnDelivered();
                            }
                            catch (ProduceException ex)
                            {
                                _counter.OnFailed(ex);
                            }
                        }
                    }

                    break;
            }

            var flush = _producer.FlushAsync(cancellationToken);
            if (await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken)).ConfigureAwait(false) != flush)
            {
                // A stall is a bug: say what the producer was waiting for (its internals, through reflection).
                var core = typeof(KafkaProducer).GetProperty("Core", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(_producer)!;
                var state = core.GetType().GetMethod("DescribeState")!.Invoke(core, null);
                throw new TimeoutException("messaging: the flush did not complete within 60 s (" + _counter.Delivered + " delivered, " + _counter.Failed + " failed):\n" + state);
            }

            await flush.ConfigureAwait(false);
            _counter.Check("messaging", count, mode != "fire");
        }

        public ValueTask DisposeAsync() => _producer.DisposeAsync();
    }

    /// <summary>Confluent.Kafka's producer, configured as its documentation advises for throughput, kept for the whole run.</summary>
    private sealed class ConfluentSession : IDisposable
    {
        private readonly IProducer<byte[]?, byte[]> _producer;
        private readonly string _topic;
        private readonly RunConfig _config;
        private readonly Message<byte[]?, byte[]> _message;
        private readonly DeliveryCounter _counter = new();
        private readonly Action<DeliveryReport<byte[]?, byte[]>> _handler;

        private ConfluentSession(IProducer<byte[]?, byte[]> producer, string topic, RunConfig config, byte[] payload)
        {
            _producer = producer;
            _topic = topic;
            _config = config;
            _message = new Message<byte[]?, byte[]> { Key = null, Value = payload };
            _handler = _counter.OnConfluentReport;
        }

        public static ConfluentSession Start(string bootstrap, string topic, RunConfig config, byte[] payload)
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

            var producer = new ProducerBuilder<byte[]?, byte[]>(producerConfig).Build();
            producer.Produce(topic, new Message<byte[]?, byte[]> { Value = payload });
            producer.Flush(TimeSpan.FromSeconds(30));
            return new ConfluentSession(producer, topic, config, payload);
        }

        public void Run(int count)
        {
            _counter.Reset();
            for (var i = 0; i < count; i++)
            {
                if (_config.Mode == "fire")
                {
                    _producer.Produce(_topic, _message);
                }
                else
                {
                    _producer.Produce(_topic, _message, _handler);
                }
            }

            if (_producer.Flush(TimeSpan.FromMinutes(5)) != 0)
            {
                throw new InvalidOperationException("Confluent.Kafka did not flush within 5 minutes.");
            }

            _counter.Check("confluent", count, _config.Mode != "fire");
        }

        public void Dispose() => _producer.Dispose();
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

        public void Check(string client, int expected, bool counted)
        {
            if (Failed > 0 || (counted && Delivered != expected))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{client}: {Delivered} delivered, {Failed} failed of {expected}: {LastError}"));
            }
        }

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

    /// <param name="PoolFill">Of <paramref name="Allocated"/>, the bytes our producer's batch buffer pool allocated: it fills up to buffer.memory once (or trades small free buffers for a larger one) and then reuses.</param>
    private sealed record RunResult(int Messages, int Size, TimeSpan Wall, TimeSpan ClientCpu, long Allocated, long PoolFill, int Gen0, int Gen1, int Gen2)
    {
        public RunResult(int messages, int size, Measurement m, TimeSpan brokerCpu, long poolFill)
            : this(messages, size, m.Wall, m.Cpu - brokerCpu, m.AllocatedBytes, poolFill, m.Gen0, m.Gen1, m.Gen2)
        {
        }

        public double MessagesPerSecond => Messages / Wall.TotalSeconds;

        public double MegabytesPerSecond => MessagesPerSecond * Size / (1024 * 1024);

        public double CpuMicrosPerMessage => ClientCpu.TotalMicroseconds / Messages;

        public double AllocatedPerMessage => (double)Allocated / Messages;

        /// <summary>Each metric's median over the runs (a run with median throughput, its CPU and allocation replaced by their medians).</summary>
        public static RunResult Median(List<RunResult> runs)
        {
            static T Mid<T>(List<RunResult> runs, Func<RunResult, double> key, Func<RunResult, T> value) => value(runs.OrderBy(key).ElementAt(runs.Count / 2));
            var byThroughput = Mid(runs, r => r.MessagesPerSecond, r => r);
            return byThroughput with
            {
                ClientCpu = TimeSpan.FromMicroseconds(Mid(runs, r => r.CpuMicrosPerMessage, r => r.CpuMicrosPerMessage) * byThroughput.Messages),
                Allocated = (long)(Mid(runs, r => r.AllocatedPerMessage, r => r.AllocatedPerMessage) * byThroughput.Messages),
            };
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{MessagesPerSecond,12:N0} msgs/s {MegabytesPerSecond,8:0.0} MB/s  cpu {CpuMicrosPerMessage,6:0.000} µs/msg  alloc {AllocatedPerMessage,8:0.0} B/msg  wall {Wall.TotalMilliseconds,7:0} ms  gc {Gen0}/{Gen1}/{Gen2}{(PoolFill > 0 ? $"  (of the alloc, batch pool filling: {(double)PoolFill / Messages:0.0} B/msg)" : "")}");
    }
}
