using System.Globalization;
using Messaging.Consumer;
using Messaging.Producer;
using Deserializers = Messaging.Serialization.Deserializers;
using Ignore = Messaging.Serialization.Ignore;

namespace Messaging.Perf;

/// <summary>Our producer and consumer for an <c>e2e</c> run: Produce with a delivery handler, read by the typed ConsumeAsync.</summary>
internal sealed class MessagingE2eSession : IE2eSession
{
    private readonly KafkaProducer _producer;
    private readonly KafkaConsumer<Ignore, byte[]?> _consumer;
    private readonly string _topic;
    private readonly ProduceSettings _settings;
    private readonly ConsumeSettings _consumeSettings;
    private readonly FailureLog _log;
    private readonly DeliveryCounter _counter = new();
    private readonly LatencyRecorder _latency;
    private readonly byte[] _scratch;
    private readonly Action<long> _send;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private long _primed;
    private long _base;

    private MessagingE2eSession(string bootstrap, string topic, ProduceSettings settings, ConsumeSettings consumeSettings)
    {
        _topic = topic;
        _settings = settings;
        _consumeSettings = consumeSettings;
        _log = new FailureLog();
        _producer = new KafkaProducer(MessagingProduceSession.Options(bootstrap, settings, _log));
        _consumer = new KafkaConsumer<Ignore, byte[]?>(MessagingConsumeRun.Options(bootstrap, consumeSettings, pools: true), Deserializers.Ignore, Deserializers.ByteArray);
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < settings.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, StartOffset.At(0)));
        }

        _consumer.Assign(assignment);
        _latency = new LatencyRecorder(settings.Messages);
        _scratch = new byte[settings.Payloads.ValueSize];
        _send = Send;
        _reader = Task.Run(ReadAsync);
    }

    public string Name => "messaging";

    public string Description => string.Create(CultureInfo.InvariantCulture,
        $"Messaging Produce(topic, in ProducerRecord, handler) paced at {_settings.Rate} msgs/s → ConsumeAsync<Ignore, byte[]> on another task; linger={_settings.LingerMs} ms, acks={_settings.Acks}, compression={_settings.Codec}, fetch.max.wait={_consumeSettings.FetchWaitMs} ms, fetch.min.bytes=1");

    public static async Task<MessagingE2eSession> StartAsync(string bootstrap, string topic, ProduceSettings settings, ConsumeSettings consumeSettings, CancellationToken cancellationToken)
    {
        var session = new MessagingE2eSession(bootstrap, topic, settings, consumeSettings);
        try
        {
            await session.PrimeAsync(cancellationToken).ConfigureAwait(false);
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
        _log.Reset();
        _latency.Reset();
        await Task.Factory.StartNew(() => Pacer.Run(count, _settings.Rate, _send, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        await _producer.FlushAsync(cancellationToken).ConfigureAwait(false);
        _base += count;
        _counter.AddFailed(_log.FailedRecords, _log.LastError);
        _counter.Check(Name, count, counted: true);
        await Poll.UntilAsync(() => _latency.Count >= count, TimeSpan.FromSeconds(60), Name + ": the consumer did not see every record", cancellationToken).ConfigureAwait(false);
        return _latency.Summarise();
    }

    /// <summary>Sends a record stamped 0 and waits until the consumer has read it: connections are up and the assignment positioned.</summary>
    private async Task PrimeAsync(CancellationToken cancellationToken)
    {
        await _producer.ProduceAsync(_topic, (byte[]?)null, new byte[Math.Max(E2eStamp.Size, _settings.Payloads.ValueSize)], cancellationToken: cancellationToken).ConfigureAwait(false);
        await Poll.UntilAsync(() => Volatile.Read(ref _primed) > 0, TimeSpan.FromSeconds(60), Name + ": the consumer did not read the priming record", cancellationToken).ConfigureAwait(false);
    }

    private void Send(long i)
    {
        var index = _base + i;
        E2eStamp.Stamp(_settings.Payloads.Value(index), _scratch);
        var key = _settings.Payloads.Key(index);
        _producer.Produce(_topic, new ProducerRecord { Key = key, KeyIsNull = key is null, Value = _scratch, Headers = _settings.Payloads.Headers(index) }, DeliveryCounter.Handler, _counter);
    }

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var result in _consumer.ConsumeAsync(_stop.Token).ConfigureAwait(false))
            {
                var sent = E2eStamp.Read(result.Value);
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
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        await _consumer.DisposeAsync().ConfigureAwait(false);
        await _producer.DisposeAsync().ConfigureAwait(false);
        _log.Dispose();
        _stop.Dispose();
    }
}
