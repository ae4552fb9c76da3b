using System.Diagnostics;
using System.Globalization;
using Messaging.Producer;

namespace Messaging.Perf;

/// <summary>Our producer for a <c>produce</c> run: the same records and settings as <see cref="ConfluentProduceSession"/>.</summary>
internal sealed class MessagingProduceSession : IProduceSession
{
    public const long BufferMemoryBytes = 32L * 1024 * 1024;

    private readonly KafkaProducer _producer;
    private readonly ProduceSettings _settings;
    private readonly Payloads _payloads;
    private readonly DeliveryCounter _counter = new();
    private readonly FailureLog _log;
    private readonly LatencyRecorder _latency;
    private readonly Action<long> _sendTimed;
    private long _base;
    private long _next;

    private MessagingProduceSession(KafkaProducer producer, string topic, ProduceSettings settings, FailureLog log)
    {
        _producer = producer;
        Topic = topic;
        _settings = settings;
        _payloads = settings.Payloads;
        _log = log;
        _latency = new LatencyRecorder(settings.Mode == "latency" ? settings.Messages : 0);
        _sendTimed = SendTimed;
        Produced = 1;
    }

    public string Name => "messaging";

    public string Topic { get; }

    public long Produced { get; private set; }

    public string Description => string.Create(CultureInfo.InvariantCulture,
        $"Messaging {Api(_settings)}, acks={_settings.Acks}, idempotence={(_settings.Idempotence && _settings.Acks == "all").ToString().ToLowerInvariant()}, linger={_settings.LingerMs} ms, batch.size={_settings.BatchSize}, " +
        $"compression={_settings.Codec}, buffer.memory={BufferMemoryBytes / 1048576} MiB, max.request.size={_settings.MaxRequestSize}, partitioner=murmur2 (keys) / sticky (null keys)");

    public static async Task<MessagingProduceSession> StartAsync(string bootstrap, string topic, ProduceSettings settings, CancellationToken cancellationToken)
    {
        var log = new FailureLog();
        var producer = new KafkaProducer(Options(bootstrap, settings, log));
        await producer.ProduceAsync(topic, (byte[]?)null, settings.Payloads.Value(0), cancellationToken: cancellationToken).ConfigureAwait(false); // metadata, connection, producer id
        return new MessagingProduceSession(producer, topic, settings, log);
    }

    /// <summary>Our producer's options for the run's settings (also used by the <c>e2e</c> command).</summary>
    public static KafkaProducerOptions Options(string bootstrap, ProduceSettings settings, Microsoft.Extensions.Logging.ILoggerFactory log) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = "perf-messaging",
        Acks = settings.Acks switch { "all" => Acks.All, "1" => Acks.Leader, _ => Acks.None },
        EnableIdempotence = settings.Idempotence && settings.Acks == "all",
        Linger = TimeSpan.FromMilliseconds(settings.LingerMs),
        BatchSize = settings.BatchSize,
        MaxRequestSize = settings.MaxRequestSize,
        BufferMemory = Math.Max(BufferMemoryBytes, 4L * settings.MaxRequestSize),
        CompressionType = settings.Compression,
        CompressionLevel = settings.CompressionLevel,
        LoggerFactory = log,
    };

    public async Task<LatencySummary?> RunAsync(string mode, CancellationToken cancellationToken)
    {
        var count = _settings.Messages;
        _counter.Reset();
        _log.Reset();
        _latency.Reset();
        _base = Produced;
        _next = 0;
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

        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (mode == "latency")
        {
            // The flush completes when the last batch is acknowledged; the awaiting continuations may still be running.
            await Poll.UntilAsync(() => _counter.Delivered + _counter.Failed >= count, TimeSpan.FromSeconds(10), Name + ": not every ProduceAsync completed", cancellationToken).ConfigureAwait(false);
        }

        _counter.AddFailed(_log.FailedRecords, _log.LastError);
        Produced += count;
        _counter.Check(Name, count, counted: mode != "fire");
        return mode == "latency" ? _latency.Summarise() : null;
    }

    private static string Api(ProduceSettings settings) => settings.Mode switch
    {
        "callback" => "Produce(topic, in ProducerRecord, handler)" + Threads(settings),
        "fire" => "Produce(topic, in ProducerRecord) fire-and-forget (failures counted from the producer's error log)" + Threads(settings),
        "tasks" => settings.Tasks.ToString(CultureInfo.InvariantCulture) + " tasks each awaiting ProduceAsync(topic, key, value, headers) in a loop",
        _ => "ProduceAsync(topic, key, value, headers) paced at " + settings.Rate.ToString(CultureInfo.InvariantCulture) + " msgs/s from one thread, each awaited by its own continuation (ack latency: call → continuation)",
    };

    private static string Threads(ProduceSettings settings) => settings.Threads > 1 ? " from " + settings.Threads.ToString(CultureInfo.InvariantCulture) + " threads" : "";

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

    /// <summary>Produces records <paramref name="first"/>, first + step, … below <paramref name="count"/>.</summary>
    private void ProduceRange(bool callback, long first, long count, int step)
    {
        for (var i = first; i < count; i += step)
        {
            var index = _base + i;
            var key = _payloads.Key(index);
            var record = new ProducerRecord { Key = key, KeyIsNull = key is null, Value = _payloads.Value(index), Headers = _payloads.Headers(index) };
            try
            {
                if (callback)
                {
                    _producer.Produce(Topic, record, DeliveryCounter.Handler, _counter);
                }
                else
                {
                    _producer.Produce(Topic, record);
                }
            }
            catch (ProduceException ex)
            {
                _counter.OnFailed(ex.Message);
            }
        }
    }

    /// <summary>One caller: claims the next record, awaits its ProduceAsync, repeats.</summary>
    private async Task AwaitingLoopAsync(long count, CancellationToken cancellationToken)
    {
        long i;
        while ((i = Interlocked.Increment(ref _next) - 1) < count)
        {
            var index = _base + i;
            var headers = _payloads.Headers(index);
            try
            {
                await _producer.ProduceAsync(Topic, _payloads.Key(index), _payloads.Value(index), headers.Length == 0 ? null : headers, cancellationToken: cancellationToken).ConfigureAwait(false);
                _counter.OnDelivered();
            }
            catch (ProduceException ex)
            {
                _counter.OnFailed(ex.Message);
            }
        }
    }

    private void SendTimed(long i)
    {
        var index = _base + i;
        var headers = _payloads.Headers(index);
        var start = Stopwatch.GetTimestamp();
#pragma warning disable CA2012 // Awaited exactly once, by TrackAsync.
        var delivery = _producer.ProduceAsync(Topic, _payloads.Key(index), _payloads.Value(index), headers.Length == 0 ? null : headers);
#pragma warning restore CA2012
        _ = TrackAsync(delivery, start);
    }

    private async Task TrackAsync(ValueTask<DeliveryResult> delivery, long start)
    {
        try
        {
            await delivery.ConfigureAwait(false);
            _latency.RecordSince(start);
            _counter.OnDelivered();
        }
        catch (ProduceException ex)
        {
            _counter.OnFailed(ex.Message);
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var flush = _producer.FlushAsync(cancellationToken);
        if (await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken)).ConfigureAwait(false) != flush)
        {
            // A stall is a bug: say what the producer was waiting for (its internals, through reflection).
            var core = typeof(KafkaProducer).GetProperty("Core", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(_producer)!;
            var state = core.GetType().GetMethod("DescribeState")!.Invoke(core, null);
            throw new TimeoutException("messaging: the flush did not complete within 60 s (" + _counter.Delivered + " delivered, " + _counter.Failed + " failed):\n" + state);
        }

        await flush.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _producer.DisposeAsync().ConfigureAwait(false);
        _log.Dispose();
    }
}
