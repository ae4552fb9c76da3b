using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace Messaging.Rpc.Tests.Server;

/// <summary>The server's dispatch without Kafka: requests built from header arrays, replies caught by a fake sink.</summary>
internal sealed class DispatchHarness
{
    public DispatchHarness(Action<RpcServerOptions>? configure = null)
    {
        Options = new RpcServerOptions { RequestTopics = ["requests"], GroupId = "group" };
        configure?.Invoke(Options);
        Wire = new RpcWire(Options.Headers);
        Reader = new RequestReader(Wire, Methods, new ReplyTopicNames());
        Streams = Options.Pools.CreateManager();
        Dispatcher = new RequestDispatcher(Options, Wire, Sink, Streams, Counters, Abort.Token);
    }

    public RpcServerOptions Options { get; }

    public RpcWire Wire { get; }

    public MethodRegistry Methods { get; } = new();

    public RequestReader Reader { get; }

    public Microsoft.IO.RecyclableMemoryStreamManager Streams { get; }

    public ServerCounters Counters { get; } = new();

    public FakeSink Sink { get; } = new();

    public CancellationTokenSource Abort { get; } = new();

    public RequestDispatcher Dispatcher { get; }

    public void MapRaw(string name, Func<ReadOnlyMemory<byte>, RpcServerContext, ValueTask<ReadOnlyMemory<byte>>> handler) =>
        Methods.Add(new RawRpcMethod(name, Options.LimitFor(name), new HandlerPipeline([.. Options.Interceptors], Options.PropagateCallContext), handler));

    public void Map<TRequest, TResponse>(string name, Func<TRequest, RpcServerContext, ValueTask<TResponse>> handler) =>
        Methods.Add(new TypedRpcMethod<TRequest, TResponse>(name, Options.LimitFor(name), new HandlerPipeline([.. Options.Interceptors], Options.PropagateCallContext), Options.Serializer, handler));

    /// <summary>Request headers as a client writes them; pass null to leave one out.</summary>
    public static List<RecordHeader> Headers(string? method, Guid? correlationId, string? replyTopic = "replies", int? replyPartition = 1,
        DateTimeOffset? deadline = null, string? contentType = "application/json")
    {
        var headers = new List<RecordHeader>();
        if (correlationId is { } id)
        {
            var bytes = new byte[16];
            RpcWire.WriteCorrelationId(id, bytes);
            headers.Add(new RecordHeader("kafka_correlationId", bytes));
        }

        if (replyTopic is not null)
        {
            headers.Add(new RecordHeader("kafka_replyTopic", Encoding.UTF8.GetBytes(replyTopic)));
        }

        if (replyPartition is { } partition)
        {
            headers.Add(new RecordHeader("kafka_replyPartition", RpcWire.EncodeInt32(partition)));
        }

        if (method is not null)
        {
            headers.Add(new RecordHeader("messaging_rpc_method", Encoding.UTF8.GetBytes(method)));
        }

        var due = deadline ?? DateTimeOffset.UtcNow.AddMinutes(1);
        var deadlineBytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(deadlineBytes, due.ToUnixTimeMilliseconds());
        headers.Add(new RecordHeader("messaging_rpc_deadline", deadlineBytes));
        if (contentType is not null)
        {
            headers.Add(new RecordHeader("messaging_rpc_content_type", Encoding.UTF8.GetBytes(contentType)));
        }

        return headers;
    }

    /// <summary>Reads the headers into a request; false when the server would drop it unanswered.</summary>
    public bool Read(ServerRequest request, List<RecordHeader> headers, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte>? key = null)
    {
        request.Payload = payload;
        request.Key = key;
        request.TopicPartition = new TopicPartition("requests", 0);
        return Reader.Read(request, headers.ToArray());
    }

    /// <summary>Reads and processes one request; returns whether it was routed (not dropped) and the reply, if any.</summary>
    public async Task<(bool Routed, SentReply? Reply)> RunAsync(List<RecordHeader> headers, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte>? key = null)
    {
        var request = new ServerRequest();
        var before = Sink.Replies.Count;
        if (!Read(request, headers, payload, key))
        {
            return (false, null);
        }

        await Dispatcher.ProcessAsync(request);
        return (true, Sink.Replies.Count > before ? Sink.Replies.Last() : null);
    }

    public static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>One reply as sent, copied (the real sink's inputs are pooled).</summary>
    internal sealed record SentReply(string Topic, int? Partition, byte[]? Key, byte[] Value, Dictionary<string, byte[]> Headers)
    {
        public RpcStatus Status => Headers.TryGetValue("messaging_rpc_status", out var status) ? (RpcStatus)BinaryPrimitives.ReadInt32BigEndian(status) : RpcStatus.Ok;

        public string? Error => Headers.TryGetValue("messaging_rpc_error", out var error) ? Encoding.UTF8.GetString(error) : null;

        public Guid CorrelationId => new(Headers["kafka_correlationId"], bigEndian: true);
    }

    internal sealed class FakeSink : IReplySink
    {
        public ConcurrentQueue<SentReply> Replies { get; } = new();

        /// <summary>When set, sending fails with this.</summary>
        public Exception? Failure { get; set; }

        /// <summary>When set, the producer refuses every reply outright, as it does a record too large: thrown by both ways of sending.</summary>
        public Exception? Refusal { get; set; }

        public bool TrySend(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers, ServerRequest request,
            DeliveryHandler<ServerRequest> onDelivered)
        {
            if (Refusal is { } refusal)
            {
                throw refusal;
            }

            if (!Buffers)
            {
                return false;
            }

            if (Failure is { } failure)
            {
                onDelivered(default, new ProduceException(ProduceErrorKind.Broker, ErrorCode.UnknownServerError, new TopicPartition(topic, partition ?? 0), failure.Message, isRetriable: false, failure), request);
                return true;
            }

            var delivered = Record(topic, partition, key, value, headers);
            if (DeferAcknowledgements)
            {
                Deferred.Enqueue(() => onDelivered(delivered, null, request));
            }
            else
            {
                onDelivered(delivered, null, request);
            }

            return true;
        }

        /// <summary>True: acknowledgements of replies taken by <see cref="TrySend"/> wait in <see cref="Deferred"/> until a test runs them.</summary>
        public bool DeferAcknowledgements { get; set; }

        public ConcurrentQueue<Action> Deferred { get; } = new();

        public ValueTask<DeliveryResult> SendAsync(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers)
        {
            if (Refusal is { } refusal)
            {
                return ValueTask.FromException<DeliveryResult>(refusal);
            }

            if (Failure is { } failure)
            {
                return ValueTask.FromException<DeliveryResult>(failure);
            }

            return ValueTask.FromResult(Record(topic, partition, key, value, headers));
        }

        /// <summary>False: the sink says every reply would have to wait, so the server takes its awaited path.</summary>
        public bool Buffers { get; set; } = true;

        private DeliveryResult Record(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers)
        {
            Replies.Enqueue(new SentReply(topic, partition, key?.ToArray(), value.ToArray(),
                headers.ToDictionary(h => h.Key, h => h.Value.ToArray())));
            return new DeliveryResult(topic, partition ?? 0, Replies.Count, default);
        }
    }
}
