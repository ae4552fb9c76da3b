using System.Diagnostics;
using System.Globalization;

namespace Messaging.Perf;

/// <summary>Our producer for a <c>produce</c> run: the same records and settings as <see cref="ConfluentProduceSession"/>.</summary>
internal sealed class MessagingProduceSession : ProduceSession
{
    public const long BufferMemoryBytes = 32L * 1024 * 1024;

    private readonly KafkaProducer _producer;
    private readonly FailureLog _log;

    private MessagingProduceSession(KafkaProducer producer, string topic, ProduceSettings settings, FailureLog log)
        : base(topic, settings)
    {
        _producer = producer;
        _log = log;
    }

    public override string Name => "messaging";

    public override string Description => string.Create(CultureInfo.InvariantCulture,
        $"Messaging {Api(Settings)}, acks={Settings.Acks}, idempotence={(Settings.Idempotence && Settings.Acks == "all").ToString().ToLowerInvariant()}, linger={Settings.LingerMs} ms, batch.size={Settings.BatchSize}, " +
        $"compression={Settings.Codec}, buffer.memory={BufferMemory(Settings) / 1048576} MiB, max.request.size={Settings.MaxRequestSize}, partitioner=murmur2 (keys) / sticky (null keys)");

    public static async Task<MessagingProduceSession> StartAsync(string bootstrap, string topic, ProduceSettings settings, CancellationToken cancellationToken)
    {
        var log = new FailureLog();
        var producer = new KafkaProducer(Options(bootstrap, settings, log));
        await producer.ProduceAsync(topic, (byte[]?)null, settings.Payloads.Value(0), cancellationToken: cancellationToken).ConfigureAwait(false); // metadata, connection, producer id
        return new MessagingProduceSession(producer, topic, settings, log);
    }

    /// <summary>Our producer's options for the run's settings (also used by the <c>e2e</c> command).</summary>
    public static KafkaProducerOptions Options(string bootstrap, ProduceSettings settings, Microsoft.Extensions.Logging.ILoggerFactory log)
    {
        var options = new KafkaProducerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-messaging",
            Acks = settings.Acks switch { "all" => Acks.All, "1" => Acks.Leader, _ => Acks.None },
            EnableIdempotence = settings.Idempotence && settings.Acks == "all",
            Linger = TimeSpan.FromMilliseconds(settings.LingerMs),
            BatchSize = settings.BatchSize,
            MaxRequestSize = settings.MaxRequestSize,
            BufferMemory = BufferMemory(settings),
            CompressionType = settings.Compression,
            CompressionLevel = settings.CompressionLevel,
            LoggerFactory = log,
        };
        settings.Security?.Apply(options);
        return options;
    }

    /// <summary>32 MiB, or room for four requests of the largest size the run needs.</summary>
    private static long BufferMemory(ProduceSettings settings) => Math.Max(BufferMemoryBytes, 4L * settings.MaxRequestSize);

    public override async ValueTask DisposeAsync()
    {
        await _producer.DisposeAsync().ConfigureAwait(false);
        _log.Dispose();
    }

    protected override void OnRoundStarting() => _log.Reset();

    protected override void OnRoundEnded() => Counter.AddFailed(_log.FailedRecords, _log.LastError);

    protected override void ProduceRange(bool callback, long first, long count, int step)
    {
        for (var i = first; i < count; i += step)
        {
            var index = Base + i;
            var key = Payloads.Key(index);
            var record = new ProducerRecord { Key = key, KeyIsNull = key is null, Value = Payloads.Value(index), Headers = Payloads.Headers(index) };
            try
            {
                if (callback)
                {
                    _producer.Produce(Topic, record, DeliveryCounter.Handler, Counter);
                }
                else
                {
                    _producer.Produce(Topic, record);
                }
            }
            catch (ProduceException ex)
            {
                Counter.OnFailed(ex.Message);
            }
        }
    }

    protected override async Task AwaitingLoopAsync(long count, CancellationToken cancellationToken)
    {
        long i;
        while ((i = ClaimNext(count)) >= 0)
        {
            var index = Base + i;
            var headers = Payloads.Headers(index);
            try
            {
                await _producer.ProduceAsync(Topic, Payloads.Key(index), Payloads.Value(index), headers.Length == 0 ? null : headers, cancellationToken: cancellationToken).ConfigureAwait(false);
                Counter.OnDelivered();
            }
            catch (ProduceException ex)
            {
                Counter.OnFailed(ex.Message);
            }
        }
    }

    protected override void SendTimed(long i)
    {
        var index = Base + i;
        var headers = Payloads.Headers(index);
        var start = Stopwatch.GetTimestamp();
#pragma warning disable CA2012 // Awaited exactly once, by TrackAsync.
        var delivery = _producer.ProduceAsync(Topic, Payloads.Key(index), Payloads.Value(index), headers.Length == 0 ? null : headers);
#pragma warning restore CA2012
        _ = TrackAsync(delivery, start);
    }

    protected override async Task FlushAsync(CancellationToken cancellationToken)
    {
        var flush = _producer.FlushAsync(cancellationToken);
        if (await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken)).ConfigureAwait(false) != flush)
        {
            // A stall is a bug: say what the producer was waiting for (its internals, through reflection).
            var core = typeof(KafkaProducer).GetProperty("Core", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(_producer)!;
            var state = core.GetType().GetMethod("DescribeState")!.Invoke(core, null);
            throw new TimeoutException("messaging: the flush did not complete within 60 s (" + Counter.Delivered + " delivered, " + Counter.Failed + " failed):\n" + state);
        }

        await flush.ConfigureAwait(false);
    }

    private static string Api(ProduceSettings settings) => settings.Mode switch
    {
        "callback" => "Produce(topic, in ProducerRecord, handler)" + Threads(settings),
        "fire" => "Produce(topic, in ProducerRecord) fire-and-forget (failures counted from the producer's error log)" + Threads(settings),
        "tasks" => settings.Tasks.ToString(CultureInfo.InvariantCulture) + " tasks each awaiting ProduceAsync(topic, key, value, headers) in a loop",
        _ => "ProduceAsync(topic, key, value, headers) paced at " + settings.Rate.ToString(CultureInfo.InvariantCulture) + " msgs/s from one thread, each awaited by its own continuation (ack latency: call → continuation)",
    };

    private async Task TrackAsync(ValueTask<DeliveryResult> delivery, long start)
    {
        try
        {
            await delivery.ConfigureAwait(false);
            Latency.RecordSince(start);
            Counter.OnDelivered();
        }
        catch (ProduceException ex)
        {
            Counter.OnFailed(ex.Message);
        }
    }
}
