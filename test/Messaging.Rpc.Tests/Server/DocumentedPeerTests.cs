using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;
using static Messaging.Rpc.Tests.Server.DocumentedNames;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// Peers written directly on Confluent.Kafka from docs/rpc.md's "Wire format" section alone — every header the document
/// names (the Spring routing headers and this library's <c>messaging_rpc_</c> ones), with its documented encoding — call
/// our server and answer our client. If one of these fails, either the document or the implementation is wrong.
/// </summary>
public sealed class DocumentedPeerTests(TestBrokerFixture fixture)
{
    /// <summary>The reply partition the documented requester reads and names (the reply topic has two).</summary>
    private const int RequesterReplyPartition = 1;

    /// <summary>How long any condition may take on a shared two-core machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly string[] DocumentedRequestHeaders =
        [CorrelationIdHeader, ReplyTopicHeader, ReplyPartitionHeader, MethodHeader, DeadlineHeader, ContentTypeHeader];

    public sealed record Greeting(string Name);

    public sealed record Reply(string Text);

    public sealed record GetOrder(int Id);

    public sealed record Order(int Id, string State);

    /// <summary>What a handler saw of a request, copied: the context is reused once the handler completes.</summary>
    private sealed record Seen(string Method, DateTimeOffset? Deadline, byte[]? Key, bool ExpectsReply);

    [Fact(Timeout = 120_000)]
    public async Task A_documented_requester_gets_ok_replies_from_our_server()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var seen = new ConcurrentDictionary<Guid, Seen>();
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "documented-server"));
        server
            .Map<Greeting, Reply>("Greet", (greeting, context) =>
            {
                seen[context.CorrelationId] = Copy(context);
                return ValueTask.FromResult(new Reply("hello " + greeting.Name));
            })
            .MapRaw("Reverse", (payload, context) =>
            {
                seen[context.CorrelationId] = Copy(context);
                var reversed = payload.ToArray();
                Array.Reverse(reversed);
                return ValueTask.FromResult<ReadOnlyMemory<byte>>(reversed);
            });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new DocumentedRequester(broker.BootstrapServers, replies);

        // The deadline travels in whole milliseconds: keep the one we compare with at that precision.
        var deadline = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddSeconds(60).ToUnixTimeMilliseconds());
        var greet = Guid.NewGuid();
        var reverse = Guid.NewGuid();
        var key = Encoding.UTF8.GetBytes("customer-" + greet);
        await requester.SendAsync(requests, Request(greet, key, "Greet", deadline, Json, """{"name":"doc"}"""u8.ToArray(), replies), ct);
        await requester.SendAsync(requests, Request(reverse, null, "Reverse", deadline, OctetStream, [1, 2, 3, 4], replies), ct);
        var received = await requester.ReceiveAsync([greet, reverse], ct);

        // The server read the documented headers as the document encodes them.
        Assert.Equal("Greet", seen[greet].Method);
        Assert.Equal(key, seen[greet].Key);
        Assert.Equal(deadline, seen[greet].Deadline);
        Assert.True(seen[greet].ExpectsReply);
        Assert.Null(seen[reverse].Key);

        var ok = received[greet];
        Assert.Equal(RequesterReplyPartition, ok.Partition.Value);
        Assert.Equal(key, ok.Message.Key);
        Assert.Equal(IdBytes(greet), LastHeader(ok.Message, CorrelationIdHeader));
        // The statuses table: a handler's result is "OK (no status header)"; the wire table: absent means OK.
        Assert.Null(LastHeader(ok.Message, StatusHeader));
        Assert.Null(LastHeader(ok.Message, ErrorHeader));
        Assert.Equal((int)RpcStatus.Ok, DocumentedStatus(ok.Message));
        Assert.Equal(Json, Utf8(LastHeader(ok.Message, ContentTypeHeader)));
        Assert.Equal("hello doc", JsonSerializer.Deserialize<Reply>(ok.Message.Value, JsonSerializerOptions.Web)!.Text);
        // "The JSON codec": properties written in camelCase.
        Assert.Equal("""{"text":"hello doc"}""", Utf8(ok.Message.Value));

        var raw = received[reverse];
        Assert.Equal(RequesterReplyPartition, raw.Partition.Value);
        Assert.Null(raw.Message.Key); // "null when the request had none"
        Assert.Equal(IdBytes(reverse), LastHeader(raw.Message, CorrelationIdHeader));
        Assert.Equal((int)RpcStatus.Ok, DocumentedStatus(raw.Message));
        Assert.Equal(new byte[] { 4, 3, 2, 1 }, raw.Message.Value);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_documented_requester_calling_an_unknown_method_gets_Unimplemented_with_a_message()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "documented-server"));
        server.Map<Greeting, Reply>("Greet", (greeting, _) => ValueTask.FromResult(new Reply("hello " + greeting.Name)));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new DocumentedRequester(broker.BootstrapServers, replies);

        var id = Guid.NewGuid();
        var key = Encoding.UTF8.GetBytes("k-" + id);
        await requester.SendAsync(requests, Request(id, key, "Nope", DateTimeOffset.UtcNow.AddSeconds(60), Json, "{}"u8.ToArray(), replies), ct);
        var reply = (await requester.ReceiveAsync([id], ct))[id];

        Assert.Equal(RequesterReplyPartition, reply.Partition.Value);
        Assert.Equal(key, reply.Message.Key);
        Assert.Equal(IdBytes(id), LastHeader(reply.Message, CorrelationIdHeader));
        Assert.Equal(4, LastHeader(reply.Message, StatusHeader)?.Length);
        Assert.Equal(12, DocumentedStatus(reply.Message)); // Unimplemented, by the document's number
        Assert.Equal("The server has no method 'Nope'.", Utf8(LastHeader(reply.Message, ErrorHeader)));
        await Conditions.WaitUntilAsync(() => server.Statistics.Unimplemented == 1, Patience, "the server counted the unknown method", ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Documented_optional_headers_absent_are_defaults_and_malformed_ones_get_InvalidArgument()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var seen = new ConcurrentDictionary<Guid, Seen>();
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "documented-server"));
        server.Map<Greeting, Reply>("Greet", (greeting, context) =>
        {
            seen[context.CorrelationId] = Copy(context);
            return ValueTask.FromResult(new Reply("hello " + greeting.Name));
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new DocumentedRequester(broker.BootstrapServers, replies);

        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        var bare = Guid.NewGuid();
        var charset = Guid.NewGuid();
        var shortDeadline = Guid.NewGuid();
        // "Without it our server treats the request as having no deadline" / "decodes with the method's codec".
        var bareRequest = Request(bare, null, "Greet", deadline, Json, """{"name":"bare"}"""u8.ToArray(), replies);
        bareRequest.Headers.Remove(DeadlineHeader);
        bareRequest.Headers.Remove(ContentTypeHeader);
        // "It must equal the method's media type byte for byte (no parameters such as `; charset=utf-8`)".
        var charsetRequest = Request(charset, null, "Greet", deadline, Json + "; charset=utf-8", """{"name":"charset"}"""u8.ToArray(), replies);
        // "Present but not 8 bytes ... InvalidArgument".
        var shortRequest = Request(shortDeadline, null, "Greet", deadline, Json, """{"name":"short"}"""u8.ToArray(), replies);
        shortRequest.Headers.Remove(DeadlineHeader);
        shortRequest.Headers.Add(DeadlineHeader, Int32(1));
        await requester.SendAsync(requests, bareRequest, ct);
        await requester.SendAsync(requests, charsetRequest, ct);
        await requester.SendAsync(requests, shortRequest, ct);
        var received = await requester.ReceiveAsync([bare, charset, shortDeadline], ct);

        Assert.Equal((int)RpcStatus.Ok, DocumentedStatus(received[bare].Message));
        Assert.Equal("""{"text":"hello bare"}""", Utf8(received[bare].Message.Value));
        Assert.Null(seen[bare].Deadline);
        Assert.Equal((int)RpcStatus.InvalidArgument, DocumentedStatus(received[charset].Message));
        Assert.Contains("content type", Utf8(LastHeader(received[charset].Message, ErrorHeader)), StringComparison.Ordinal);
        Assert.Equal((int)RpcStatus.InvalidArgument, DocumentedStatus(received[shortDeadline].Message));
        Assert.Contains("deadline", Utf8(LastHeader(received[shortDeadline].Message, ErrorHeader)), StringComparison.Ordinal);
        Assert.False(seen.ContainsKey(charset));
        Assert.False(seen.ContainsKey(shortDeadline));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_documented_request_past_its_deadline_is_skipped_without_a_reply_by_default()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var group = ServerTestSupport.NewGroup();
        var ran = new ConcurrentQueue<Guid>();
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, group, "documented-server"));
        server.Map<Greeting, Reply>("Greet", (greeting, context) =>
        {
            ran.Enqueue(context.CorrelationId);
            return ValueTask.FromResult(new Reply("hello " + greeting.Name));
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new DocumentedRequester(broker.BootstrapServers, replies);

        // One key, so both land on one partition with the live request behind the expired one: once the group's commit
        // covers the live request, the server is done with both.
        var key = "one-partition"u8.ToArray();
        var expired = Guid.NewGuid();
        var live = Guid.NewGuid();
        var expiredDelivery = await requester.SendAsync(requests,
            Request(expired, key, "Greet", DateTimeOffset.UtcNow.AddMinutes(-1), Json, """{"name":"late"}"""u8.ToArray(), replies), ct);
        var liveDelivery = await requester.SendAsync(requests,
            Request(live, key, "Greet", DateTimeOffset.UtcNow.AddSeconds(60), Json, """{"name":"live"}"""u8.ToArray(), replies), ct);
        Assert.Equal(expiredDelivery.TopicPartition, liveDelivery.TopicPartition);

        await requester.ReceiveAsync([live], ct);
        await Conditions.WaitUntilAsync(() => server.Statistics.Expired == 1, Patience, "the server counted the expired request", ct);
        // A request's offset is committed only once its reply (if any) was acknowledged: after this, a reply to the
        // expired request, had there been one, is on the reply partition.
        await ServerTestSupport.WaitForCommitAsync(broker.BootstrapServers, group, liveDelivery.TopicPartition, liveDelivery.Offset.Value + 1, ct);
        await requester.ReadToEndAsync(ct);

        Assert.Equal([live], requester.Received.Select(r => new Guid(LastHeader(r.Message, CorrelationIdHeader)!, bigEndian: true)));
        Assert.Equal([live], ran);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_documented_request_past_its_deadline_gets_DeadlineExceeded_when_the_server_is_told_to_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var ran = 0;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "documented-server",
            o => o.ExpiredRequests = RpcExpiredRequestPolicy.ReplyDeadlineExceeded));
        server.Map<Greeting, Reply>("Greet", (greeting, _) =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.FromResult(new Reply("hello " + greeting.Name));
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new DocumentedRequester(broker.BootstrapServers, replies);

        var id = Guid.NewGuid();
        var key = Encoding.UTF8.GetBytes("k-" + id);
        await requester.SendAsync(requests, Request(id, key, "Greet", DateTimeOffset.UtcNow.AddMinutes(-1), Json, """{"name":"late"}"""u8.ToArray(), replies), ct);
        var reply = (await requester.ReceiveAsync([id], ct))[id];

        Assert.Equal(4, DocumentedStatus(reply.Message)); // DeadlineExceeded
        Assert.Equal("The deadline passed before the server could run the request.", Utf8(LastHeader(reply.Message, ErrorHeader)));
        Assert.Equal(key, reply.Message.Key);
        Assert.Equal(IdBytes(id), LastHeader(reply.Message, CorrelationIdHeader));
        await Conditions.WaitUntilAsync(() => server.Statistics.Expired == 1, Patience, "the server counted the expired request", ct);
        Assert.Equal(0, Volatile.Read(ref ran));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_documented_replier_answers_our_client_with_ok_and_error_statuses()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var replier = DocumentedReplier.Start(broker.BootstrapServers, requests, ct);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        await client.StartAsync(ct);
        var timeout = TimeSpan.FromSeconds(30);
        var windows = new Dictionary<string, (long From, long To)>(StringComparer.Ordinal);
        var tenant = new RecordHeader("tenant", "acme"u8.ToArray());
        var orderKey = "order-42"u8.ToArray();

        // Each call's possible deadlines, in Unix ms: [call start + timeout, call end + timeout].
        async Task<T> Timed<T>(string method, Func<Task<T>> call)
        {
            var from = DateTimeOffset.UtcNow.Add(timeout).ToUnixTimeMilliseconds();
            try
            {
                return await call();
            }
            finally
            {
                windows[method] = (from, DateTimeOffset.UtcNow.Add(timeout).ToUnixTimeMilliseconds());
            }
        }

        var order = await Timed("GetOrder", () => client.CallAsync<GetOrder, Order>(requests, "GetOrder", new GetOrder(42),
            new RpcCallOptions { Timeout = timeout, Headers = [tenant], Key = orderKey }, ct).AsTask());
        var reversed = await Timed("Reverse", () => client.CallAsync(requests, "Reverse", new byte[] { 1, 2, 3 },
            new RpcCallOptions { Timeout = timeout }, ct).AsTask());
        var missing = await Timed("Missing", () => Assert.ThrowsAsync<RpcException>(() => client.CallAsync<GetOrder, Order>(requests, "Missing", new GetOrder(43),
            new RpcCallOptions { Timeout = timeout }, ct).AsTask()));
        var strange = await Timed("Strange", () => Assert.ThrowsAsync<RpcException>(() => client.CallAsync<GetOrder, Order>(requests, "Strange", new GetOrder(44),
            new RpcCallOptions { Timeout = timeout }, ct).AsTask()));
        await Timed("Notify", async () =>
        {
            await client.SendAsync(requests, "Notify", new GetOrder(45), new RpcCallOptions { Timeout = timeout, Headers = [tenant] }, ct);
            return 0;
        });
        await Conditions.WaitUntilAsync(() => replier.Requests.Count == 5, Patience, "the replier read all five requests", ct);

        Assert.Equal(new Order(42, "shipped"), order);
        Assert.Equal(new byte[] { 3, 2, 1 }, reversed);
        Assert.Equal(RpcStatus.NotFound, missing.Status);
        Assert.Equal("order 43 not found", missing.Detail);
        Assert.Equal("Missing", missing.Method);
        Assert.Equal(requests, missing.Topic);
        Assert.True(missing.RequestAcknowledged);
        // A status outside 0–16 "reads as Unknown (2)".
        Assert.Equal(RpcStatus.Unknown, strange.Status);

        // What our client put on the wire, checked against the request table.
        var seen = replier.Requests.ToDictionary(r => r.Method, StringComparer.Ordinal);
        Assert.Equal(["GetOrder", "Missing", "Notify", "Reverse", "Strange"], seen.Keys.Order(StringComparer.Ordinal));
        // Every header has a name: the first call went out on the path for a topic not seen before, the one-way send on
        // its own; both once carried unused header slots as empty-named headers.
        Assert.All(seen.Values, request => Assert.All(request.Headers, h => Assert.False(string.IsNullOrEmpty(h.Name),
            $"{request.Method} carried a header with an empty name: {string.Join(", ", request.Headers.Select(x => x.Name))}")));
        var notify = seen["Notify"];
        Assert.Null(notify.Last(CorrelationIdHeader)); // one-way: no correlation ID, no reply routing
        Assert.Null(notify.Last(ReplyTopicHeader));
        Assert.Null(notify.Last(ReplyPartitionHeader));
        // The RPC headers, then the caller's (trace context may follow when a listener is active in this process).
        Assert.Equal([MethodHeader, DeadlineHeader, ContentTypeHeader, "tenant"],
            notify.Headers.Select(h => h.Name).Where(n => n is not (KafkaTraceContext.TraceParentHeader or KafkaTraceContext.TraceStateHeader)));
        Assert.InRange(BinaryPrimitives.ReadInt64BigEndian(notify.Last(DeadlineHeader)), windows["Notify"].From, windows["Notify"].To);
        seen.Remove("Notify");
        foreach (var (method, request) in seen)
        {
            var id = request.Last(CorrelationIdHeader);
            Assert.Equal(16, id?.Length);
            Assert.Equal(4, id![6] >> 4); // version 4, most significant byte first
            Assert.Equal(0b10, id[8] >> 6); // the RFC 4122 variant
            Assert.Equal(replies, Utf8(request.Last(ReplyTopicHeader)));
            var partition = request.Last(ReplyPartitionHeader);
            Assert.Equal(4, partition?.Length);
            Assert.Equal(client.ReplyPartition, BinaryPrimitives.ReadInt32BigEndian(partition));
            var deadline = request.Last(DeadlineHeader);
            Assert.Equal(8, deadline?.Length);
            Assert.InRange(BinaryPrimitives.ReadInt64BigEndian(deadline), windows[method].From, windows[method].To);
            Assert.Equal(method == "Reverse" ? OctetStream : Json, Utf8(request.Last(ContentTypeHeader)));
            Assert.Equal(CK.TimestampType.CreateTime, request.TimestampType);
        }

        Assert.Equal(missing.CorrelationId, new Guid(seen["Missing"].Last(CorrelationIdHeader)!, bigEndian: true));
        Assert.Equal(orderKey, seen["GetOrder"].Key);
        Assert.Null(seen["Reverse"].Key);
        // "the caller's own headers, after the ones above, passed through".
        var names = seen["GetOrder"].Headers.Select(h => h.Name).ToList();
        Assert.Equal("acme", Utf8(seen["GetOrder"].Last("tenant")));
        Assert.All(DocumentedRequestHeaders, h => Assert.True(names.LastIndexOf(h) < names.IndexOf("tenant"), h + " after the caller's header: " + string.Join(", ", names)));
        await replier.StopAsync();
    }

    private static Seen Copy(RpcServerContext context) =>
        new(context.Method, context.Deadline, context.Key?.ToArray(), context.ExpectsReply);

    /// <summary>A request as the document's table describes it.</summary>
    private static CK.Message<byte[]?, byte[]> Request(Guid id, byte[]? key, string method, DateTimeOffset deadline, string contentType, byte[] payload, string replyTopic) =>
        new()
        {
            Key = key,
            Value = payload,
            Headers = new CK.Headers
            {
                { CorrelationIdHeader, IdBytes(id) },
                { ReplyTopicHeader, Encoding.UTF8.GetBytes(replyTopic) },
                { ReplyPartitionHeader, Int32(RequesterReplyPartition) },
                { MethodHeader, Encoding.UTF8.GetBytes(method) },
                { DeadlineHeader, Int64(deadline.ToUnixTimeMilliseconds()) },
                { ContentTypeHeader, Encoding.UTF8.GetBytes(contentType) },
            },
        };

    /// <summary>"16 bytes: a UUID's bytes, most significant first (.NET: <c>Guid.TryWriteBytes(span, bigEndian: true, ...)</c>)".</summary>
    private static byte[] IdBytes(Guid id)
    {
        var bytes = new byte[16];
        Assert.True(id.TryWriteBytes(bytes, bigEndian: true, out _));
        return bytes;
    }

    private static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Int64(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    private static string? Utf8(byte[]? bytes) => bytes is null ? null : Encoding.UTF8.GetString(bytes);

    /// <summary>"A header that appears more than once counts by its last occurrence."</summary>
    private static byte[]? LastHeader<TKey, TValue>(CK.Message<TKey, TValue> message, string name) =>
        message.Headers is { } headers && headers.TryGetLastBytes(name, out var value) ? value : null;

    /// <summary>The status as the document says to read it: absent is OK, 4 bytes an int32, anything else (or outside 0–16) Unknown.</summary>
    private static int DocumentedStatus<TKey, TValue>(CK.Message<TKey, TValue> message) =>
        LastHeader(message, StatusHeader) switch
        {
            null => 0,
            { Length: 4 } bytes when BinaryPrimitives.ReadInt32BigEndian(bytes) is >= 0 and <= 16 => BinaryPrimitives.ReadInt32BigEndian(bytes),
            _ => 2,
        };

    /// <summary>
    /// A client as "Writing a peer" describes it: reads one partition of the reply topic from its end before sending,
    /// and matches replies by correlation ID.
    /// </summary>
    private sealed class DocumentedRequester : IDisposable
    {
        private readonly CK.IProducer<byte[]?, byte[]> _producer;
        private readonly CK.IConsumer<byte[]?, byte[]?> _consumer;
        private readonly CK.TopicPartition _replies;
        private long _next;

        public DocumentedRequester(string bootstrap, string replyTopic)
        {
            _producer = new CK.ProducerBuilder<byte[]?, byte[]>(new CK.ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0 }).Build();
            _consumer = new CK.ConsumerBuilder<byte[]?, byte[]?>(new CK.ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "documented-requester-" + Guid.NewGuid().ToString("N")[..8],
                EnableAutoCommit = false,
                FetchWaitMaxMs = 10,
            }).Build();
            _replies = new CK.TopicPartition(replyTopic, RequesterReplyPartition);
            // "From its end before sending": the end as an explicit offset, not Offset.End, which librdkafka resolves only
            // at its first fetch — possibly after a quick reply has already landed, which would then be skipped.
            _next = _consumer.QueryWatermarkOffsets(_replies, TimeSpan.FromSeconds(30)).High.Value;
            _consumer.Assign(new CK.TopicPartitionOffset(_replies, _next));
        }

        /// <summary>Every record read from the reply partition, in order.</summary>
        public List<CK.ConsumeResult<byte[]?, byte[]?>> Received { get; } = [];

        public Task<CK.DeliveryResult<byte[]?, byte[]>> SendAsync(string topic, CK.Message<byte[]?, byte[]> request, CancellationToken cancellationToken) =>
            _producer.ProduceAsync(topic, request, cancellationToken);

        /// <summary>Reads until a reply for each of <paramref name="ids"/> has arrived; every reply must carry a 16-byte correlation ID.</summary>
        public Task<Dictionary<Guid, CK.ConsumeResult<byte[]?, byte[]?>>> ReceiveAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken) =>
            Task.Run(() =>
            {
                var end = DateTime.UtcNow + Patience;
                while (!ids.All(id => Received.Any(r => Id(r) == id)))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (DateTime.UtcNow > end)
                    {
                        Assert.Fail($"Timed out after {Patience} waiting for replies to {string.Join(", ", ids)}; got {string.Join(", ", Received.Select(Id))}.");
                    }

                    ConsumeOne();
                }

                return Received.Where(r => ids.Contains(Id(r))).ToDictionary(Id);
            }, cancellationToken);

        /// <summary>Reads the reply partition up to its current end.</summary>
        public Task ReadToEndAsync(CancellationToken cancellationToken) =>
            Task.Run(() =>
            {
                var high = _consumer.QueryWatermarkOffsets(_replies, TimeSpan.FromSeconds(30)).High.Value;
                var end = DateTime.UtcNow + Patience;
                while (_next < high)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (DateTime.UtcNow > end)
                    {
                        Assert.Fail($"Timed out after {Patience} reading the reply partition to {high} (at {_next}).");
                    }

                    ConsumeOne();
                }
            }, cancellationToken);

        public void Dispose()
        {
            _consumer.Dispose();
            _producer.Dispose();
        }

        private static Guid Id(CK.ConsumeResult<byte[]?, byte[]?> result)
        {
            var id = LastHeader(result.Message, CorrelationIdHeader);
            Assert.True(id is { Length: 16 }, "a reply's correlation ID must be exactly 16 bytes, got " + id?.Length);
            return new Guid(id, bigEndian: true);
        }

        private void ConsumeOne()
        {
            if (_consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } result)
            {
                Received.Add(result);
                _next = result.Offset.Value + 1;
            }
        }
    }

    /// <summary>One request as the documented replier read it.</summary>
    private sealed record SeenRequest(string Method, IReadOnlyList<(string Name, byte[] Value)> Headers, byte[]? Key, CK.TimestampType TimestampType)
    {
        public byte[]? Last(string name) => Headers.LastOrDefault(h => h.Name == name).Value;
    }

    /// <summary>
    /// A server as "Writing a peer" describes it: reads method, deadline and content type, skips expired requests, and
    /// answers to the named reply topic and partition with the key and correlation ID copied. <c>GetOrder</c> answers
    /// OK with an explicit status 0 and a JSON order; <c>Reverse</c> the reversed bytes with no status header;
    /// <c>Missing</c> NotFound (5) with a message; anything else a status (99) this protocol does not define.
    /// </summary>
    private sealed class DocumentedReplier : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop;
        private readonly Task _loop;

        private DocumentedReplier(string bootstrap, string requests, CancellationToken cancellationToken)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var stop = _stop.Token;
            _loop = Task.Run(() => Serve(bootstrap, requests, stop), CancellationToken.None);
        }

        public ConcurrentQueue<SeenRequest> Requests { get; } = new();

        public static DocumentedReplier Start(string bootstrap, string requests, CancellationToken cancellationToken) => new(bootstrap, requests, cancellationToken);

        /// <summary>Stops the loop and rethrows whatever failed in it.</summary>
        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _loop;
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                // StopAsync already surfaced a failure on the test's path; disposal after a failed test must not mask it.
            }

            _stop.Dispose();
        }

        private void Serve(string bootstrap, string requests, CancellationToken stop)
        {
            using var producer = new CK.ProducerBuilder<byte[]?, byte[]?>(new CK.ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0 }).Build();
            using var consumer = new CK.ConsumerBuilder<byte[]?, byte[]>(new CK.ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "documented-replier-" + Guid.NewGuid().ToString("N")[..8],
                EnableAutoCommit = false,
                FetchWaitMaxMs = 10,
            }).Build();
            consumer.Assign(Enumerable.Range(0, ServerTestSupport.RequestPartitions).Select(p => new CK.TopicPartitionOffset(requests, p, CK.Offset.Beginning)));
            while (!stop.IsCancellationRequested)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100))?.Message is not { } request)
                {
                    continue;
                }

                var headers = request.Headers.Select(h => (h.Key, h.GetValueBytes())).ToList();
                var seen = new SeenRequest(Utf8(LastHeader(request, MethodHeader)) ?? "", headers, request.Key, request.Timestamp.Type);
                Requests.Enqueue(seen);
                if (seen.Last(DeadlineHeader) is { Length: 8 } deadline
                    && BinaryPrimitives.ReadInt64BigEndian(deadline) < DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
                {
                    continue; // "skip it if the deadline has passed"
                }

                if (seen.Last(CorrelationIdHeader) is not { } id || Utf8(seen.Last(ReplyTopicHeader)) is not { } replyTopic)
                {
                    continue; // one-way
                }

                var replyHeaders = new CK.Headers { { CorrelationIdHeader, id } };
                byte[]? value = null;
                switch (seen.Method)
                {
                    case "GetOrder":
                        var query = JsonSerializer.Deserialize<GetOrder>(request.Value, JsonSerializerOptions.Web)!;
                        value = JsonSerializer.SerializeToUtf8Bytes(new Order(query.Id, "shipped"), JsonSerializerOptions.Web);
                        replyHeaders.Add(StatusHeader, Int32(0)); // explicit OK: "absent" is only the other way to say it
                        replyHeaders.Add(ContentTypeHeader, seen.Last(ContentTypeHeader));
                        break;
                    case "Reverse":
                        value = request.Value.Reverse().ToArray();
                        break;
                    case "Missing":
                        var missing = JsonSerializer.Deserialize<GetOrder>(request.Value, JsonSerializerOptions.Web)!;
                        replyHeaders.Add(StatusHeader, Int32(5));
                        replyHeaders.Add(ErrorHeader, Encoding.UTF8.GetBytes($"order {missing.Id} not found"));
                        break;
                    default:
                        replyHeaders.Add(StatusHeader, Int32(99));
                        replyHeaders.Add(ErrorHeader, "a status from a newer protocol"u8.ToArray());
                        break;
                }

                var reply = new CK.Message<byte[]?, byte[]?> { Key = request.Key, Value = value, Headers = replyHeaders };
                if (seen.Last(ReplyPartitionHeader) is { Length: 4 } partition)
                {
                    producer.Produce(new CK.TopicPartition(replyTopic, BinaryPrimitives.ReadInt32BigEndian(partition)), reply);
                }
                else
                {
                    producer.Produce(replyTopic, reply); // "absent means any partition"
                }
            }

            producer.Flush(TimeSpan.FromSeconds(5));
        }
    }
}
