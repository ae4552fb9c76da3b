using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace Messaging.Rpc.Tests.Support;

/// <summary>
/// A stand-in server, written as a Spring <c>@SendTo</c> replier behaves: it reads requests, copies the correlation ID
/// into the reply and sends it to the request's reply topic and partition. The method header picks the behaviour:
/// <c>echo</c> replies with the request's payload, <c>fail</c> with status Internal and a message, <c>ignore</c> never
/// replies, <c>twice</c> echoes two replies, <c>flaky</c> answers Unavailable the first time it sees a correlation ID
/// and echoes after, <c>slow-first</c> echoes the first request of a correlation ID only after <see cref="SlowDelay"/>
/// (a slow server instance) and later ones at once, <c>health</c> fails with Internal while <see cref="Failing"/> is
/// set and echoes otherwise. It consumes from the start of every partition of the request topic.
/// </summary>
internal sealed class TestReplier : IAsyncDisposable
{
    private static readonly byte[] StatusInternal = BigEndian((int)RpcStatus.Internal);
    private static readonly byte[] StatusUnavailable = BigEndian((int)RpcStatus.Unavailable);
    private readonly ConcurrentDictionary<string, int> _seen = new(StringComparer.Ordinal);
    private volatile bool _failing;

    private readonly KafkaConsumer _consumer;
    private readonly KafkaProducer _producer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _received;

    private TestReplier(string bootstrap, string topic, int partitions)
    {
        _consumer = new KafkaConsumer(new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "test-replier",
            FetchMaxWait = TimeSpan.FromMilliseconds(10),
        });
        _producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = bootstrap, ClientId = "test-replier", Linger = TimeSpan.Zero });
        var assignment = new List<TopicPartitionOffset>();
        for (var i = 0; i < partitions; i++)
        {
            assignment.Add(new TopicPartitionOffset(topic, i, OffsetSpec.Earliest));
        }

        _consumer.Assign(assignment);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Requests seen so far.</summary>
    public int Received => Volatile.Read(ref _received);

    /// <summary>The methods of the requests seen, in order of arrival.</summary>
    public ConcurrentQueue<string> Methods { get; } = new();

    /// <summary>The deadline header of the requests seen (Unix ms).</summary>
    public ConcurrentQueue<long> Deadlines { get; } = new();

    /// <summary>Every request's payload, in order of arrival.</summary>
    public ConcurrentQueue<byte[]> Values { get; } = new();

    /// <summary>Every request's key (null for none), in order of arrival.</summary>
    public ConcurrentQueue<byte[]?> Keys { get; } = new();

    /// <summary>Every request's headers (name → last value), in order of arrival.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, byte[]>> Headers { get; } = new();

    /// <summary>How often each correlation ID (hex) was seen.</summary>
    public IReadOnlyDictionary<string, int> CorrelationIds => _seen;

    /// <summary>How long <c>slow-first</c> holds the first reply of a correlation ID.</summary>
    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Whether <c>health</c> fails.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public static TestReplier Start(string bootstrap, string topic, int partitions) => new(bootstrap, topic, partitions);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        await _consumer.DisposeAsync();
        await _producer.DisposeAsync();
        _stop.Dispose();
    }

    private static byte[] BigEndian(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[]? Header(in ConsumedRecord record, string name) =>
        record.Headers.TryGetLast(Encoding.UTF8.GetBytes(name), out var header) ? header.Value.ToArray() : null;

    private async Task LoopAsync()
    {
        await foreach (var record in _consumer.ConsumeRawAsync(_stop.Token))
        {
            try
            {
                Handle(record);
            }
            finally
            {
                record.Recycle();
            }
        }
    }

    private void Handle(in ConsumedRecord record)
    {
        Interlocked.Increment(ref _received);
        var method = Encoding.UTF8.GetString(Header(record, "messaging_rpc_method") ?? []);
        Methods.Enqueue(method);
        if (Header(record, "messaging_rpc_deadline") is { Length: 8 } deadline)
        {
            Deadlines.Enqueue(BinaryPrimitives.ReadInt64BigEndian(deadline));
        }

        var all = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var header in record.Headers)
        {
            all[header.Key] = header.Value.ToArray();
        }

        Headers.Enqueue(all);
        Keys.Enqueue(record.IsKeyNull ? null : record.Key.ToArray());
        Values.Enqueue(record.Value.ToArray());
        var correlationId = Header(record, "kafka_correlationId");
        var replyTopic = Header(record, "kafka_replyTopic");
        if (correlationId is null || replyTopic is null || method == "ignore")
        {
            return;
        }

        var seen = _seen.AddOrUpdate(Convert.ToHexString(correlationId), 1, static (_, n) => n + 1);
        var fails = method == "fail" || (method == "flaky" && seen == 1) || (method == "health" && Failing);
        var status = method == "flaky" ? StatusUnavailable : StatusInternal;

        var partitionHeader = Header(record, "kafka_replyPartition");
        int? partition = partitionHeader is { Length: 4 } ? BinaryPrimitives.ReadInt32BigEndian(partitionHeader) : null;
        var topic = Encoding.UTF8.GetString(replyTopic);
        RecordHeader[] headers = fails
            ? [new RecordHeader("kafka_correlationId", correlationId), new RecordHeader("messaging_rpc_status", status),
               new RecordHeader("messaging_rpc_error", Encoding.UTF8.GetBytes("boom: " + method))]
            : [new RecordHeader("kafka_correlationId", correlationId)];
        if (method == "slow-first" && seen == 1)
        {
            // A slow instance: the reply goes later, without holding up the requests behind it.
            var (key, value) = (record.IsKeyNull ? (byte[]?)null : record.Key.ToArray(), record.Value.ToArray());
            _ = Task.Run(async () =>
            {
                await Task.Delay(SlowDelay, _stop.Token);
                await _producer.ProduceAsync(topic, key, value, headers, partition);
            });
            return;
        }

        var reply = new ProducerRecord
        {
            Key = record.Key.Span,
            KeyIsNull = record.IsKeyNull,
            Value = fails ? default : record.Value.Span,
            Headers = headers,
            Partition = partition,
        };
        _producer.Produce(topic, reply);
        if (method == "twice")
        {
            _producer.Produce(topic, reply);
        }
    }
}
