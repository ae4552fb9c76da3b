using System.Globalization;

namespace Messaging.Perf;

// Confluent.Kafka is this file's peer client: its type names (ConsumeResult, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>Confluent.Kafka's producer and consumer for an <c>e2e</c> run: Produce with a delivery handler, read by the typed Consume loop on its own thread.</summary>
internal sealed class ConfluentE2eSession : E2eSession
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly IConsumer<Ignore, byte[]> _consumer;
    private readonly string _topic;
    private readonly Message<byte[]?, byte[]> _message = new();
    private readonly Thread _reader;
    private volatile bool _stopping;

    public ConfluentE2eSession(string bootstrap, string topic, ProduceSettings settings, ConsumeSettings consumeSettings)
        : base(settings, consumeSettings)
    {
        _topic = topic;
        _producer = new ProducerBuilder<byte[]?, byte[]>(ConfluentProduceSession.Config(bootstrap, settings)).Build();
        _consumer = new ConsumerBuilder<Ignore, byte[]>(ConfluentConsumeRun.Config(bootstrap, consumeSettings)).Build();
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < settings.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, new Offset(0)));
        }

        _consumer.Assign(assignment);
        _reader = new Thread(Read) { IsBackground = true, Name = "perf-e2e-confluent-reader" };
        _reader.Start();
    }

    public override string Name => "confluent";

    public override string Description => string.Create(CultureInfo.InvariantCulture,
        $"Confluent.Kafka {typeof(IProducer<,>).Assembly.GetName().Version?.ToString(3)} Produce(topic, Message, handler) paced at {Settings.Rate} msgs/s → typed Consume(100 ms) loop on its own thread; linger.ms={Settings.LingerMs}, acks={Settings.Acks}, " +
        $"compression.type={Settings.Codec}, fetch.wait.max.ms={ConsumeSettings.FetchWaitMs}, fetch.min.bytes=1 (default); otherwise as the produce and consume commands configure it");

    public override ValueTask DisposeAsync()
    {
        _stopping = true;
        _reader.Join();
        _consumer.Close();
        _consumer.Dispose();
        _producer.Dispose();
        return ValueTask.CompletedTask;
    }

    protected override Task SendPrimingAsync(byte[] value, CancellationToken cancellationToken) =>
        _producer.ProduceAsync(_topic, new Message<byte[]?, byte[]> { Value = value }, cancellationToken);

    protected override void Send(long i)
    {
        var index = Base + i;
        E2eStamp.Stamp(Settings.Payloads.Value(index), Scratch);
        _message.Key = Settings.Payloads.Key(index);
        _message.Value = Scratch;
        _message.Headers = Settings.Payloads.ConfluentHeaders(index);
        _producer.Produce(_topic, _message, Counter.ConfluentHandler);
    }

    protected override Task FlushAsync(CancellationToken cancellationToken) => _producer.Flush(TimeSpan.FromMinutes(1)) == 0
        ? Task.CompletedTask
        : throw new TimeoutException("confluent: the producer did not flush within a minute.");

    private void Read()
    {
        while (!_stopping)
        {
            var result = _consumer.Consume(100);
            if (result is not null)
            {
                OnConsumed(result.Message.Value);
            }
        }
    }
}
