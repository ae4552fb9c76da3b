using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Messaging.Perf;

// Confluent.Kafka is this file's peer client: its type names (Headers, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>
/// The baseline: request/reply hand-rolled on Confluent.Kafka as a careful engineer would — the same headers as ours
/// (Spring's routing headers, our method and deadline), one shared reply consumer on its own thread with a
/// correlation map of <see cref="TaskCompletionSource{TResult}"/>, and a replier that echoes each request to its reply
/// topic and partition from its consume loop; the same fetch wait and linger as ours.
/// </summary>
internal sealed class ConfluentRpcSession(string bootstrap, RpcSettings settings) : RpcSession
{
    private static readonly byte[] Method = Encoding.UTF8.GetBytes("Echo");

    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<byte[]>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private IProducer<Null, byte[]>? _requestProducer;
    private IProducer<byte[]?, byte[]>? _replyProducer;
    private IConsumer<Ignore, byte[]>? _replyConsumer;
    private IConsumer<byte[]?, byte[]>? _requestConsumer;
    private Thread? _replyReader;
    private Thread? _replier;
    private string _requests = "";
    private byte[] _replyTopic = [];
    private readonly byte[] _replyPartition = new byte[4];

    public override string Name => "confluent";

    public override string Description => string.Create(CultureInfo.InvariantCulture,
        $"Confluent.Kafka {typeof(IProducer<,>).Assembly.GetName().Version?.ToString(3)} hand-rolled: Produce + correlation map of TaskCompletionSource, one reply consumer thread, a replier thread consuming and producing echoes; " +
        $"linger.ms={settings.LingerMs} both sides, request acks=1, reply acks=all idempotent, fetch.wait.max.ms={settings.FetchWaitMs} both sides");

    public override async Task StartAsync(string requests, string replies, CancellationToken cancellationToken)
    {
        _requests = requests;
        _replyTopic = Encoding.UTF8.GetBytes(replies);
        BinaryPrimitives.WriteInt32BigEndian(_replyPartition, 0);
        _requestProducer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap, ClientId = "perf-rpc-confluent-client", LingerMs = settings.LingerMs, Acks = Acks.Leader,
        }).Build();
        _replyProducer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap, ClientId = "perf-rpc-confluent-server", LingerMs = settings.LingerMs, Acks = Acks.All, EnableIdempotence = true,
        }).Build();
        _replyConsumer = new ConsumerBuilder<Ignore, byte[]>(ConsumerConfig("perf-rpc-confluent-replies")).Build();
        _requestConsumer = new ConsumerBuilder<byte[]?, byte[]>(ConsumerConfig("perf-rpc-confluent-requests")).Build();

        // Replies are read from the end of partition 0, positioned before the first call, as ours is.
        var end = _replyConsumer.QueryWatermarkOffsets(new TopicPartition(replies, 0), TimeSpan.FromSeconds(30)).High;
        _replyConsumer.Assign(new TopicPartitionOffset(replies, 0, end));
        var partitions = Partitions(requests);
        _requestConsumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(requests, p, Offset.End)));
        _replyReader = new Thread(ReadReplies) { IsBackground = true, Name = "perf-rpc-confluent-replies" };
        _replier = new Thread(Reply) { IsBackground = true, Name = "perf-rpc-confluent-replier" };
        _replyReader.Start();
        _replier.Start();

        // One call proves both loops are positioned (a call sent before the replier's position was fixed would be skipped: retry).
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await CallAsync([1], cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (TimeoutException) when (attempt < 30)
            {
            }
        }
    }

    public override async ValueTask<byte[]> CallAsync(byte[] payload, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        var completion = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = completion;
        try
        {
            var idBytes = new byte[16];
            id.TryWriteBytes(idBytes, bigEndian: true, out _);
            var deadline = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(deadline, DateTimeOffset.UtcNow.Add(settings.Timeout).ToUnixTimeMilliseconds());
            _requestProducer!.Produce(_requests, new Message<Null, byte[]>
            {
                Value = payload,
                Headers = new Headers
                {
                    { "kafka_correlationId", idBytes },
                    { "kafka_replyTopic", _replyTopic },
                    { "kafka_replyPartition", _replyPartition },
                    { "messaging_rpc_method", Method },
                    { "messaging_rpc_deadline", deadline },
                    { "messaging_rpc_content_type", "application/octet-stream"u8.ToArray() },
                },
            });
            return await completion.Task.WaitAsync(settings.Timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public override ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _replyReader?.Join();
        _replier?.Join();
        _replyConsumer?.Close();
        _replyConsumer?.Dispose();
        _requestConsumer?.Close();
        _requestConsumer?.Dispose();
        _requestProducer?.Dispose();
        _replyProducer?.Dispose();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }

    private ConsumerConfig ConsumerConfig(string clientId) => new()
    {
        BootstrapServers = bootstrap,
        ClientId = clientId,
        GroupId = clientId + "-" + Guid.NewGuid().ToString("N")[..8],
        EnableAutoCommit = false,
        FetchWaitMaxMs = settings.FetchWaitMs,
    };

    private int Partitions(string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        return admin.GetMetadata(topic, TimeSpan.FromSeconds(30)).Topics[0].Partitions.Count;
    }

    private void ReadReplies()
    {
        while (!_stop.IsCancellationRequested)
        {
            var result = _replyConsumer!.Consume(100);
            if (result?.Message is { } reply && reply.Headers.TryGetLastBytes("kafka_correlationId", out var id) && id.Length == 16
                && _pending.TryGetValue(new Guid(id, bigEndian: true), out var completion))
            {
                completion.TrySetResult(reply.Value);
            }
        }
    }

    private void Reply()
    {
        while (!_stop.IsCancellationRequested)
        {
            var result = _requestConsumer!.Consume(100);
            if (result?.Message is not { } request
                || !request.Headers.TryGetLastBytes("kafka_correlationId", out var id)
                || !request.Headers.TryGetLastBytes("kafka_replyTopic", out var topic))
            {
                continue;
            }

            var partition = request.Headers.TryGetLastBytes("kafka_replyPartition", out var p) && p.Length == 4 ? BinaryPrimitives.ReadInt32BigEndian(p) : 0;
            _replyProducer!.Produce(new TopicPartition(Encoding.UTF8.GetString(topic), partition),
                new Message<byte[]?, byte[]> { Key = request.Key, Value = request.Value, Headers = new Headers { { "kafka_correlationId", id } } });
        }
    }
}
