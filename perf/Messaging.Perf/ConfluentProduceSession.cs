using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using CompressionType = Messaging.Compression.CompressionType;

namespace Messaging.Perf;

/// <summary>
/// Confluent.Kafka's producer for a <c>produce</c> run, configured as its documentation advises for throughput, with
/// the same records and settings as <see cref="MessagingProduceSession"/>. In fire mode its delivery reports are off
/// (<c>dotnet.producer.enable.delivery.reports=false</c>), as an application that never looks at outcomes runs it.
/// </summary>
internal sealed class ConfluentProduceSession : IProduceSession
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly ProducerConfig _config;
    private readonly ProduceSettings _settings;
    private readonly Payloads _payloads;
    private readonly DeliveryCounter _counter;
    private readonly LatencyRecorder _latency;
    private readonly Action<long> _sendTimed;
    private readonly Message<byte[]?, byte[]> _pacedMessage = new();
    private long _base;
    private long _next;
    private long _fatalErrors;

    private ConfluentProduceSession(IProducer<byte[]?, byte[]> producer, ProducerConfig config, string topic, ProduceSettings settings, DeliveryCounter counter)
    {
        _producer = producer;
        _config = config;
        Topic = topic;
        _settings = settings;
        _payloads = settings.Payloads;
        _counter = counter;
        _latency = new LatencyRecorder(settings.Mode == "latency" ? settings.Messages : 0);
        _sendTimed = SendTimed;
        Produced = 1;
    }

    public string Name => "confluent";

    public string Topic { get; }

    public long Produced { get; private set; }

    public string Description => string.Create(CultureInfo.InvariantCulture,
        $"Confluent.Kafka {typeof(IProducer<,>).Assembly.GetName().Version?.ToString(3)} {Api(_settings)}, acks={_settings.Acks}, enable.idempotence={_config.EnableIdempotence.ToString()!.ToLowerInvariant()}, linger.ms={_config.LingerMs}, " +
        $"batch.size={_config.BatchSize}, batch.num.messages={_config.BatchNumMessages}, compression.type={_settings.Codec}, queue.buffering.max.messages={_config.QueueBufferingMaxMessages}, " +
        $"queue.buffering.max.kbytes={_config.QueueBufferingMaxKbytes}, message.max.bytes={_config.MessageMaxBytes}, partitioner={_config.Partitioner.ToString()!.ToLowerInvariant()}, " +
        $"dotnet.producer.enable.delivery.reports={_config.EnableDeliveryReports.ToString()!.ToLowerInvariant()}, dotnet.producer.delivery.report.fields={_config.DeliveryReportFields}");

    public static ConfluentProduceSession Start(string bootstrap, string topic, ProduceSettings settings)
    {
        var config = Config(bootstrap, settings);
        var counter = new DeliveryCounter();
        ConfluentProduceSession? session = null;
        var producer = new ProducerBuilder<byte[]?, byte[]>(config)
            .SetErrorHandler((_, error) => session?.OnError(error))
            .Build();
        session = new ConfluentProduceSession(producer, config, topic, settings, counter);
        producer.Produce(topic, new Message<byte[]?, byte[]> { Value = settings.Payloads.Value(0) });
        producer.Flush(TimeSpan.FromSeconds(30));
        return session;
    }

    /// <summary>Confluent's producer configuration for the run's settings (also used by the <c>e2e</c> command).</summary>
    public static ProducerConfig Config(string bootstrap, ProduceSettings settings)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-confluent",
            Acks = settings.Acks switch { "all" => Acks.All, "1" => Acks.Leader, _ => Acks.None },
            EnableIdempotence = settings.Idempotence && settings.Acks == "all",
            LingerMs = settings.LingerMs,
            BatchSize = settings.BatchSize,
            BatchNumMessages = 1_000_000,
            MessageMaxBytes = settings.MaxRequestSize,
            QueueBufferingMaxMessages = 10_000_000,
            QueueBufferingMaxKbytes = 2_097_151,
            CompressionType = settings.Compression switch
            {
                CompressionType.Gzip => Confluent.Kafka.CompressionType.Gzip,
                CompressionType.Snappy => Confluent.Kafka.CompressionType.Snappy,
                CompressionType.Lz4 => Confluent.Kafka.CompressionType.Lz4,
                CompressionType.Zstd => Confluent.Kafka.CompressionType.Zstd,
                _ => Confluent.Kafka.CompressionType.None,
            },
            Partitioner = Partitioner.Murmur2Random, // as ours (and Java's): murmur2 for keys, random/sticky for null keys
            EnableDeliveryReports = settings.Mode != "fire",
            DeliveryReportFields = "none",
        };
        if (settings.CompressionLevel is { } level)
        {
            config.CompressionLevel = level;
        }

        return config;
    }

    public async Task<LatencySummary?> RunAsync(string mode, CancellationToken cancellationToken)
    {
        var count = _settings.Messages;
        _counter.Reset();
        _latency.Reset();
        _base = Produced;
        _next = 0;
        var fatalBefore = Interlocked.Read(ref _fatalErrors);
        switch (mode)
        {
            case "callback":
            case "fire":
                RunOnThreads(mode == "callback", count);
                break;
            case "tasks":
                var loops = new Task[_settings.Tasks];
                for (var t = 0; t < loops.Length; t++)
                {
                    loops[t] = AwaitingLoopAsync(count, cancellationToken);
                }

                await Task.WhenAll(loops).ConfigureAwait(false);
                break;
            default:
                await Task.Factory.StartNew(() => Pacer.Run(count, _settings.Rate, _sendTimed, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                break;
        }

        if (_producer.Flush(TimeSpan.FromMinutes(5)) != 0)
        {
            throw new InvalidOperationException("Confluent.Kafka did not flush within 5 minutes.");
        }

        if (mode == "latency")
        {
            await Poll.UntilAsync(() => _counter.Delivered + _counter.Failed >= count, TimeSpan.FromSeconds(10), Name + ": not every ProduceAsync completed", cancellationToken).ConfigureAwait(false);
        }

        _counter.AddFailed(Interlocked.Read(ref _fatalErrors) - fatalBefore, "a fatal client error (see the error handler)");
        Produced += count;
        _counter.Check(Name, count, counted: mode != "fire");
        return mode == "latency" ? _latency.Summarise() : null;
    }

    private static string Api(ProduceSettings settings) => settings.Mode switch
    {
        "callback" => "Produce(topic, Message, handler) with a reused Message per thread" + Threads(settings),
        "fire" => "Produce(topic, Message) with a reused Message per thread, delivery reports off (failures: exceptions from Produce and fatal errors)" + Threads(settings),
        "tasks" => settings.Tasks.ToString(CultureInfo.InvariantCulture) + " tasks each awaiting ProduceAsync(topic, Message) in a loop",
        _ => "ProduceAsync(topic, Message) paced at " + settings.Rate.ToString(CultureInfo.InvariantCulture) + " msgs/s from one thread, each awaited by its own continuation (ack latency: call → continuation)",
    };

    private static string Threads(ProduceSettings settings) => settings.Threads > 1 ? " from " + settings.Threads.ToString(CultureInfo.InvariantCulture) + " threads" : "";

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            Interlocked.Increment(ref _fatalErrors);
        }
    }

    private void RunOnThreads(bool callback, int count)
    {
        if (_settings.Threads <= 1)
        {
            ProduceRange(callback, 0, count, 1);
            return;
        }

        var threads = new Thread[_settings.Threads];
        for (var t = 0; t < threads.Length; t++)
        {
            var first = t;
            threads[t] = new Thread(() => ProduceRange(callback, first, count, threads.Length)) { IsBackground = true, Name = "perf-produce-" + t.ToString(CultureInfo.InvariantCulture) };
            threads[t].Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }
    }

    /// <summary>Produces records <paramref name="first"/>, first + step, … below <paramref name="count"/>, reusing one Message (Confluent copies the bytes in Produce).</summary>
    private void ProduceRange(bool callback, long first, long count, int step)
    {
        var message = new Message<byte[]?, byte[]>();
        for (var i = first; i < count; i += step)
        {
            Fill(message, _base + i);
            try
            {
                if (callback)
                {
                    _producer.Produce(Topic, message, _counter.ConfluentHandler);
                }
                else
                {
                    _producer.Produce(Topic, message);
                }
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                _counter.OnFailed(ex.Error.Reason);
            }
        }
    }

    private void Fill(Message<byte[]?, byte[]> message, long index)
    {
        message.Key = _payloads.Key(index);
        message.Value = _payloads.Value(index);
        message.Headers = _payloads.ConfluentHeaders(index);
    }

    /// <summary>One caller: claims the next record, awaits its ProduceAsync, repeats.</summary>
    private async Task AwaitingLoopAsync(long count, CancellationToken cancellationToken)
    {
        var message = new Message<byte[]?, byte[]>();
        long i;
        while ((i = Interlocked.Increment(ref _next) - 1) < count)
        {
            Fill(message, _base + i);
            try
            {
                await _producer.ProduceAsync(Topic, message, cancellationToken).ConfigureAwait(false);
                _counter.OnDelivered();
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                _counter.OnFailed(ex.Error.Reason);
            }
        }
    }

    private void SendTimed(long i)
    {
        Fill(_pacedMessage, _base + i);
        var start = Stopwatch.GetTimestamp();
        _ = TrackAsync(_producer.ProduceAsync(Topic, _pacedMessage), start);
    }

    private async Task TrackAsync(Task<DeliveryResult<byte[]?, byte[]>> delivery, long start)
    {
        try
        {
            await delivery.ConfigureAwait(false);
            _latency.RecordSince(start);
            _counter.OnDelivered();
        }
        catch (ProduceException<byte[]?, byte[]> ex)
        {
            _counter.OnFailed(ex.Error.Reason);
        }
    }

    public ValueTask DisposeAsync()
    {
        _producer.Dispose();
        return ValueTask.CompletedTask;
    }
}
