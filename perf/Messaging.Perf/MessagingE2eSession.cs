using System.Globalization;
using Deserializers = Messaging.Deserializers;
using Ignore = Messaging.Ignore;

namespace Messaging.Perf;

/// <summary>Our producer and consumer for an <c>e2e</c> run: Produce with a delivery handler, read by the typed ConsumeAsync.</summary>
internal sealed class MessagingE2eSession : E2eSession
{
    private readonly KafkaProducer _producer;
    private readonly KafkaConsumer<Ignore, byte[]?> _consumer;
    private readonly string _topic;
    private readonly FailureLog _log = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    public MessagingE2eSession(string bootstrap, string topic, ProduceSettings settings, ConsumeSettings consumeSettings)
        : base(settings, consumeSettings)
    {
        _topic = topic;
        _producer = new KafkaProducer(MessagingProduceSession.Options(bootstrap, settings, _log));
        _consumer = new KafkaConsumer<Ignore, byte[]?>(MessagingConsumeRun.Options(bootstrap, consumeSettings, pools: true), Deserializers.Ignore, Deserializers.ByteArray);
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < settings.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, OffsetSpec.At(0)));
        }

        _consumer.Assign(assignment);
        _reader = Task.Run(ReadAsync);
    }

    public override string Name => "messaging";

    public override string Description => string.Create(CultureInfo.InvariantCulture,
        $"Messaging Produce(topic, in ProducerRecord, handler) paced at {Settings.Rate} msgs/s → ConsumeAsync<Ignore, byte[]> on another task; linger={Settings.LingerMs} ms, acks={Settings.Acks}, compression={Settings.Codec}, fetch.max.wait={ConsumeSettings.FetchWaitMs} ms, fetch.min.bytes=1");

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        await _consumer.DisposeAsync().ConfigureAwait(false);
        await _producer.DisposeAsync().ConfigureAwait(false);
        _log.Dispose();
        _stop.Dispose();
    }

    protected override Task SendPrimingAsync(byte[] value, CancellationToken cancellationToken) =>
        _producer.ProduceAsync(_topic, (byte[]?)null, value, cancellationToken: cancellationToken).AsTask();

    protected override void Send(long i)
    {
        var index = Base + i;
        E2eStamp.Stamp(Settings.Payloads.Value(index), Scratch);
        var key = Settings.Payloads.Key(index);
        _producer.Produce(_topic, new ProducerRecord { Key = key, KeyIsNull = key is null, Value = Scratch, Headers = Settings.Payloads.Headers(index) }, DeliveryCounter.Handler, Counter);
    }

    protected override Task FlushAsync(CancellationToken cancellationToken) => _producer.FlushAsync(cancellationToken);

    protected override void OnRoundStarting() => _log.Reset();

    protected override void OnRoundEnded() => Counter.AddFailed(_log.FailedRecords, _log.LastError);

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var result in _consumer.ConsumeAsync(_stop.Token).ConfigureAwait(false))
            {
                OnConsumed(result.Value);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed.
        }
    }
}
