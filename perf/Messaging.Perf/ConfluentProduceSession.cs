using System.Diagnostics;
using System.Globalization;

namespace Messaging.Perf;

// Confluent.Kafka is this file's peer client: its type names (ConsumeResult, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>
/// Confluent.Kafka's producer for a <c>produce</c> run, configured as its documentation advises for throughput, with
/// the same records and settings as <see cref="MessagingProduceSession"/>. In fire mode its delivery reports are off
/// (<c>dotnet.producer.enable.delivery.reports=false</c>), as an application that never looks at outcomes runs it.
/// </summary>
internal sealed class ConfluentProduceSession : ProduceSession
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly ProducerConfig _config;
    private readonly Message<byte[]?, byte[]> _pacedMessage = new();
    private long _fatalErrors;
    private long _fatalErrorsBefore;

    private ConfluentProduceSession(string bootstrap, string topic, ProduceSettings settings)
        : base(topic, settings)
    {
        _config = Config(bootstrap, settings);
        _producer = new ProducerBuilder<byte[]?, byte[]>(_config).SetErrorHandler((_, error) => OnError(error)).Build();
    }

    public override string Name => "confluent";

    public override string Description => string.Create(CultureInfo.InvariantCulture,
        $"Confluent.Kafka {typeof(IProducer<,>).Assembly.GetName().Version?.ToString(3)} {Api(Settings)}, acks={Settings.Acks}, enable.idempotence={_config.EnableIdempotence.ToString()!.ToLowerInvariant()}, linger.ms={_config.LingerMs}, " +
        $"batch.size={_config.BatchSize}, batch.num.messages={_config.BatchNumMessages}, compression.type={Settings.Codec}, queue.buffering.max.messages={_config.QueueBufferingMaxMessages}, " +
        $"queue.buffering.max.kbytes={_config.QueueBufferingMaxKbytes}, message.max.bytes={_config.MessageMaxBytes}, partitioner={_config.Partitioner.ToString()!.ToLowerInvariant()}, " +
        $"dotnet.producer.enable.delivery.reports={_config.EnableDeliveryReports.ToString()!.ToLowerInvariant()}, dotnet.producer.delivery.report.fields={_config.DeliveryReportFields}");

    public static ConfluentProduceSession Start(string bootstrap, string topic, ProduceSettings settings)
    {
        var session = new ConfluentProduceSession(bootstrap, topic, settings);
        session._producer.Produce(topic, new Message<byte[]?, byte[]> { Value = settings.Payloads.Value(0) }); // metadata, connection, producer id
        session._producer.Flush(TimeSpan.FromSeconds(30));
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
            CompressionType = ConfluentCompression.From(settings.Compression),
            Partitioner = Partitioner.Murmur2Random, // as ours (and Java's): murmur2 for keys, random/sticky for null keys
            EnableDeliveryReports = settings.Mode != "fire",
            DeliveryReportFields = "none",
        };
        if (settings.CompressionLevel is { } level)
        {
            config.CompressionLevel = level;
        }

        settings.Security?.Apply(config);
        return config;
    }

    public override ValueTask DisposeAsync()
    {
        _producer.Dispose();
        return ValueTask.CompletedTask;
    }

    protected override void OnRoundStarting() => _fatalErrorsBefore = Interlocked.Read(ref _fatalErrors);

    protected override void OnRoundEnded() => Counter.AddFailed(Interlocked.Read(ref _fatalErrors) - _fatalErrorsBefore, "a fatal client error (see the error handler)");

    /// <summary>Reuses one Message per thread: Confluent copies the bytes in Produce.</summary>
    protected override void ProduceRange(bool callback, long first, long count, int step)
    {
        var message = new Message<byte[]?, byte[]>();
        for (var i = first; i < count; i += step)
        {
            Fill(message, Base + i);
            try
            {
                if (callback)
                {
                    _producer.Produce(Topic, message, Counter.ConfluentHandler);
                }
                else
                {
                    _producer.Produce(Topic, message);
                }
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                Counter.OnFailed(ex.Error.Reason);
            }
        }
    }

    protected override async Task AwaitingLoopAsync(long count, CancellationToken cancellationToken)
    {
        var message = new Message<byte[]?, byte[]>();
        long i;
        while ((i = ClaimNext(count)) >= 0)
        {
            Fill(message, Base + i);
            try
            {
                await _producer.ProduceAsync(Topic, message, cancellationToken).ConfigureAwait(false);
                Counter.OnDelivered();
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                Counter.OnFailed(ex.Error.Reason);
            }
        }
    }

    protected override void SendTimed(long i)
    {
        Fill(_pacedMessage, Base + i);
        var start = Stopwatch.GetTimestamp();
        _ = TrackAsync(_producer.ProduceAsync(Topic, _pacedMessage), start);
    }

    protected override Task FlushAsync(CancellationToken cancellationToken) => _producer.Flush(TimeSpan.FromMinutes(5)) == 0
        ? Task.CompletedTask
        : throw new TimeoutException("confluent: the flush did not complete within 5 minutes.");

    private static string Api(ProduceSettings settings) => settings.Mode switch
    {
        "callback" => "Produce(topic, Message, handler) with a reused Message per thread" + Threads(settings),
        "fire" => "Produce(topic, Message) with a reused Message per thread, delivery reports off (failures: exceptions from Produce and fatal errors)" + Threads(settings),
        "tasks" => settings.Tasks.ToString(CultureInfo.InvariantCulture) + " tasks each awaiting ProduceAsync(topic, Message) in a loop",
        _ => "ProduceAsync(topic, Message) paced at " + settings.Rate.ToString(CultureInfo.InvariantCulture) + " msgs/s from one thread, each awaited by its own continuation (ack latency: call → continuation)",
    };

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            Interlocked.Increment(ref _fatalErrors);
        }
    }

    private void Fill(Message<byte[]?, byte[]> message, long index)
    {
        message.Key = Payloads.Key(index);
        message.Value = Payloads.Value(index);
        message.Headers = Payloads.ConfluentHeaders(index);
    }

    private async Task TrackAsync(Task<DeliveryResult<byte[]?, byte[]>> delivery, long start)
    {
        try
        {
            await delivery.ConfigureAwait(false);
            Latency.RecordSince(start);
            Counter.OnDelivered();
        }
        catch (ProduceException<byte[]?, byte[]> ex)
        {
            Counter.OnFailed(ex.Error.Reason);
        }
    }
}
