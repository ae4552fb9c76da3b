using System.Globalization;
using Confluent.Kafka;

namespace Messaging.Perf;

/// <summary>Confluent.Kafka's producer and consumer for an <c>e2e</c> run: Produce with a delivery handler, read by the typed Consume loop on its own thread.</summary>
internal sealed class ConfluentE2eSession : IE2eSession
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly IConsumer<Ignore, byte[]> _consumer;
    private readonly string _topic;
    private readonly ProduceSettings _settings;
    private readonly ConsumeSettings _consumeSettings;
    private readonly DeliveryCounter _counter = new();
    private readonly LatencyRecorder _latency;
    private readonly byte[] _scratch;
    private readonly Message<byte[]?, byte[]> _message = new();
    private readonly Action<long> _send;
    private readonly Thread _reader;
    private volatile bool _stopping;
    private long _primed;
    private long _base;

    private ConfluentE2eSession(string bootstrap, string topic, ProduceSettings settings, ConsumeSettings consumeSettings)
    {
        _topic = topic;
        _settings = settings;
        _consumeSettings = consumeSettings;
        _producer = new ProducerBuilder<byte[]?, byte[]>(ConfluentProduceSession.Config(bootstrap, settings)).Build();
        _consumer = new ConsumerBuilder<Ignore, byte[]>(ConfluentConsumeRun.Config(bootstrap, consumeSettings)).Build();
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < settings.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, new Offset(0)));
        }

        _consumer.Assign(assignment);
        _latency = new LatencyRecorder(settings.Messages);
        _scratch = new byte[settings.Payloads.ValueSize];
        _send = Send;
        _reader = new Thread(Read) { IsBackground = true, Name = "perf-e2e-confluent-reader" };
        _reader.Start();
    }

    public string Name => "confluent";

    public string Description => string.Create(CultureInfo.InvariantCulture,
        $"Confluent.Kafka {typeof(IProducer<,>).Assembly.GetName().Version?.ToString(3)} Produce(topic, Message, handler) paced at {_settings.Rate} msgs/s → typed Consume(100 ms) loop on its own thread; linger.ms={_settings.LingerMs}, acks={_settings.Acks}, " +
        $"compression.type={_settings.Codec}, fetch.wait.max.ms={_consumeSettings.FetchWaitMs}, fetch.min.bytes=1 (default), as configured for the produce and consume commands otherwise");

    public static async Task<ConfluentE2eSession> StartAsync(string bootstrap, string topic, ProduceSettings settings, ConsumeSettings consumeSettings, CancellationToken cancellationToken)
    {
        var session = new ConfluentE2eSession(bootstrap, topic, settings, consumeSettings);
        try
        {
            // A record stamped 0, read back: connections are up and the assignment positioned.
            session._producer.Produce(topic, new Message<byte[]?, byte[]> { Value = new byte[Math.Max(E2eStamp.Size, settings.Payloads.ValueSize)] });
            session._producer.Flush(TimeSpan.FromSeconds(30));
            await Poll.UntilAsync(() => Volatile.Read(ref session._primed) > 0, TimeSpan.FromSeconds(60), "confluent: the consumer did not read the priming record", cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<LatencySummary> RunRoundAsync(CancellationToken cancellationToken)
    {
        var count = _settings.Messages;
        _counter.Reset();
        _latency.Reset();
        await Task.Factory.StartNew(() => Pacer.Run(count, _settings.Rate, _send, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        if (_producer.Flush(TimeSpan.FromMinutes(1)) != 0)
        {
            throw new InvalidOperationException("confluent: the producer did not flush within a minute.");
        }

        _base += count;
        _counter.Check(Name, count, counted: true);
        await Poll.UntilAsync(() => _latency.Count >= count, TimeSpan.FromSeconds(60), Name + ": the consumer did not see every record", cancellationToken).ConfigureAwait(false);
        return _latency.Summarise();
    }

    /// <summary>Stamps a copy of the record's value (Confluent copies the bytes in Produce, so one scratch array serves every record).</summary>
    private void Send(long i)
    {
        var index = _base + i;
        E2eStamp.Stamp(_settings.Payloads.Value(index), _scratch);
        _message.Key = _settings.Payloads.Key(index);
        _message.Value = _scratch;
        _message.Headers = _settings.Payloads.ConfluentHeaders(index);
        _producer.Produce(_topic, _message, _counter.ConfluentHandler);
    }

    private void Read()
    {
        while (!_stopping)
        {
            var result = _consumer.Consume(100);
            if (result is null)
            {
                continue;
            }

            var sent = E2eStamp.Read(result.Message.Value);
            if (sent == 0)
            {
                Interlocked.Increment(ref _primed);
            }
            else
            {
                _latency.RecordSince(sent);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopping = true;
        _reader.Join();
        _consumer.Close();
        _consumer.Dispose();
        _producer.Dispose();
        return ValueTask.CompletedTask;
    }
}
