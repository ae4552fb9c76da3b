using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;
using static Messaging.Rpc.Tests.Server.DocumentedNames;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// Hostile and odd request records fed to a real server (docs/rpc.md, "The server": "No request content can stop the
/// server or the consuming loop"): each is counted as malformed or answered with a typed status, a normal request
/// after them is still answered, and the group's commit moves past all of them.
/// </summary>
public sealed class HostileRequestTests(TestBrokerFixture fixture)
{
    private const int ReplyPartition = 1;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>How long a normal request behind a hostile one may take to be answered: far more than it needs on an idle server.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(15);

    public sealed record Greeting(string Name);

    public sealed record Reply(string Text);

    [Fact(Timeout = 120_000)]
    public async Task Hostile_headers_and_payloads_are_answered_or_counted_and_the_commit_moves_past_them()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var group = ServerTestSupport.NewGroup();
        var ran = new ConcurrentQueue<string>();
        await using var server = StartServer(broker.BootstrapServers, requests, group, ran);
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new RawRequester(broker.BootstrapServers, replies);
        List<(string, byte[]?)> Route(byte[] id) => RouteTo(id, replies);

        // One key: every record lands on one partition, the normal request last, so a commit past it is past all.
        var key = "hostile"u8.ToArray();
        var expected = new Dictionary<string, RpcStatus>(); // hex correlation ID -> status
        var sent = new List<CK.DeliveryResult<byte[]?, byte[]?>>();

        async Task Send(byte[]? value, List<(string, byte[]?)> headers)
        {
            sent.Add(await requester.SendAsync(requests, key, value, headers, ct));
        }

        async Task Answered(RpcStatus status, byte[] id, byte[]? value, List<(string, byte[]?)> headers)
        {
            expected[Convert.ToHexString(id)] = status;
            await Send(value, headers);
        }

        var greet = """{"name":"x"}"""u8.ToArray();

        // Duplicated headers: the last occurrence counts.
        var id = NewId();
        await Answered(RpcStatus.Ok, id, greet, [.. Route(id), (MethodHeader, Utf8("Nope")), (MethodHeader, Utf8("Greet")), Deadline(), (ContentTypeHeader, Utf8(Json))]);
        id = NewId();
        await Answered(RpcStatus.Unimplemented, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), (MethodHeader, Utf8("Nope")), Deadline(), (ContentTypeHeader, Utf8(Json))]);
        var firstId = NewId();
        id = NewId();
        await Answered(RpcStatus.Ok, id, greet, [(CorrelationIdHeader, firstId), .. Route(id), (MethodHeader, Utf8("Greet")), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.Ok, id, greet, [.. Route(id), (DeadlineHeader, Int64(long.MinValue)), (MethodHeader, Utf8("Greet")), Deadline()]);

        // Method: null value, empty, 512 KiB, not UTF-8.
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, greet, [.. Route(id), (MethodHeader, null), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.Unimplemented, id, greet, [.. Route(id), (MethodHeader, []), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.Unimplemented, id, greet, [.. Route(id), (MethodHeader, Enumerable.Repeat((byte)'m', 512 * 1024).ToArray()), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.Unimplemented, id, greet, [.. Route(id), (MethodHeader, [0xff, 0xfe, 0xc3, 0x28]), Deadline()]);

        // Correlation IDs of odd lengths are copied back.
        id = [7];
        await Answered(RpcStatus.Ok, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline()]);
        id = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        await Answered(RpcStatus.Ok, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline()]);

        // Deadline: null value, long.MinValue, long.MaxValue, 4 bytes.
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), (DeadlineHeader, null)]);
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), (DeadlineHeader, Int64(long.MinValue))]);
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), (DeadlineHeader, Int64(long.MaxValue))]);

        // Content type: null value (as absent), not UTF-8.
        id = NewId();
        await Answered(RpcStatus.Ok, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline(), (ContentTypeHeader, null)]);
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, greet, [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline(), (ContentTypeHeader, [0xff, 0x00, 0xfe])]);

        // Payloads: a null value, not UTF-8, 100,000 levels of nesting; a raw method gets any bytes.
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, null, [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, [0xff, 0xfe, 0xfd], [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, Encoding.ASCII.GetBytes(new string('[', 100_000) + new string(']', 100_000)),
            [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.InvalidArgument, id, Encoding.ASCII.GetBytes("{\"name\":" + new string('{', 100_000)),
            [.. Route(id), (MethodHeader, Utf8("Greet")), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.Ok, id, null, [.. Route(id), (MethodHeader, Utf8("Echo")), Deadline(), (ContentTypeHeader, [0xff])]);

        // A handler that throws, synchronously and after an await.
        id = NewId();
        await Answered(RpcStatus.Internal, id, greet, [.. Route(id), (MethodHeader, Utf8("Boom")), Deadline()]);
        id = NewId();
        await Answered(RpcStatus.Internal, id, greet, [.. Route(id), (MethodHeader, Utf8("BoomLater")), Deadline()]);

        // Unanswerable: dropped and counted.
        var dropped = 0;
        async Task Dropped(List<(string, byte[]?)> headers)
        {
            dropped++;
            await Send(greet, headers);
        }

        id = NewId();
        await Dropped([(CorrelationIdHeader, null), (ReplyTopicHeader, Utf8(replies)), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, null), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, Utf8(replies)), (ReplyPartitionHeader, null), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, Utf8(replies)), (ReplyPartitionHeader, Int32(-1)), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, Utf8(replies)), (ReplyPartitionHeader, Int32(int.MinValue)), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, Utf8(replies)), (ReplyPartitionHeader, [0, 1, 0]), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, [0xff, 0xfe]), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, Utf8(new string('t', 300))), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, NewId()), (ReplyTopicHeader, []), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(CorrelationIdHeader, []), (ReplyTopicHeader, Utf8(replies)), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(ReplyTopicHeader, Utf8(replies)), (MethodHeader, Utf8("Greet"))]);
        await Dropped([(DeadlineHeader, Int64(long.MaxValue))]); // nothing at all: no route, no method

        // A reply partition the reply topic does not have: nowhere to answer; counted as a failed reply.
        await Send(greet, [(CorrelationIdHeader, NewId()), (ReplyTopicHeader, Utf8(replies)), (ReplyPartitionHeader, Int32(7)), (MethodHeader, Utf8("Greet")), Deadline()]);

        // A one-way request with garbage around it still runs.
        await Send(greet, [(MethodHeader, Utf8("Greet")), ("", null), ("\u00ff", [0xff])]);

        // Then a normal request.
        var normal = NewId();
        await Answered(RpcStatus.Ok, normal, greet, [.. Route(normal), (MethodHeader, Utf8("Greet")), Deadline(), (ContentTypeHeader, Utf8(Json))]);
        Assert.All(sent, s => Assert.Equal(sent[0].TopicPartition, s.TopicPartition));

        var received = await requester.ReceiveAsync(expected.Keys, Patience, ct);
        await ServerTestSupport.WaitForCommitAsync(broker.BootstrapServers, group, sent[^1].TopicPartition, sent[^1].Offset.Value + 1, ct);

        var wrong = expected
            .Where(e => Status(received[e.Key]) != e.Value)
            .Select(e => $"{e.Key[..Math.Min(8, e.Key.Length)]}: expected {e.Value}, got {Status(received[e.Key])} ({Utf8Text(Last(received[e.Key], ErrorHeader))})")
            .ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.Equal("""{"text":"hello x"}""", Utf8Text(received[Convert.ToHexString(normal)].Message.Value));
        Assert.Equal(key, received[Convert.ToHexString(normal)].Message.Key);
        Assert.Contains("'", Utf8Text(Last(received[expected.First(e => e.Value == RpcStatus.Unimplemented).Key], ErrorHeader)), StringComparison.Ordinal);

        var stats = server.Statistics;
        // InvalidArgument answers (5) plus the dropped ones.
        Assert.Equal(5 + dropped, stats.Malformed);
        Assert.Equal(1, stats.ReplyFailures);
        Assert.Equal(sent.Count, stats.Received);
        Assert.Equal(0, stats.ConsumeErrors);
        Assert.Equal(0, stats.InFlight);
    }

    /// <summary>
    /// docs/rpc.md: a deadline is InvalidArgument only "outside years 1–9999"; a deadline far ahead is a valid one. The
    /// handler's token "fires at the deadline" — asking for it must not fail the request.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData(60)]
    [InlineData(3650)]
    [InlineData(-1)] // the last millisecond of year 9999
    public async Task A_valid_deadline_far_in_the_future_lets_the_handler_use_its_token(int daysAhead)
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var group = ServerTestSupport.NewGroup();
        await using var server = StartServer(broker.BootstrapServers, requests, group, new ConcurrentQueue<string>());
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new RawRequester(broker.BootstrapServers, replies);
        List<(string, byte[]?)> Route(byte[] id) => RouteTo(id, replies);

        var deadline = daysAhead < 0 ? DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() : DateTimeOffset.UtcNow.AddDays(daysAhead).ToUnixTimeMilliseconds();
        var id = NewId();
        var delivery = await requester.SendAsync(requests, null, """{"name":"far"}"""u8.ToArray(),
            [.. Route(id), (MethodHeader, Utf8("Token")), (DeadlineHeader, Int64(deadline)), (ContentTypeHeader, Utf8(Json))], ct);
        var reply = (await requester.ReceiveAsync([Convert.ToHexString(id)], Patience, ct))[Convert.ToHexString(id)];
        await ServerTestSupport.WaitForCommitAsync(broker.BootstrapServers, group, delivery.TopicPartition, delivery.Offset.Value + 1, ct);

        Assert.True(Status(reply) == RpcStatus.Ok, $"status {Status(reply)}: {Utf8Text(Last(reply, ErrorHeader))}");
        Assert.Equal("""{"text":"token far"}""", Utf8Text(reply.Message.Value));
    }

    /// <summary>
    /// A request naming a reply topic that does not exist (or cannot exist) cannot be answered. It must not hold up the
    /// replies to everyone else: a normal request right behind it, on another partition, is answered promptly and the
    /// commit moves past both.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData("no-such-reply-topic")]
    [InlineData("not/a/topic")]
    [InlineData("..")]
    public async Task A_reply_topic_that_does_not_exist_does_not_hold_up_other_replies(string hostileTopic)
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var group = ServerTestSupport.NewGroup();
        await using var server = StartServer(broker.BootstrapServers, requests, group, new ConcurrentQueue<string>());
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        using var requester = new RawRequester(broker.BootstrapServers, replies);
        List<(string, byte[]?)> Route(byte[] id) => RouteTo(id, replies);

        // Warm up: the server's producer knows the real reply topic before the hostile request arrives.
        var warm = NewId();
        await requester.SendAsync(requests, null, """{"name":"warm"}"""u8.ToArray(), [.. Route(warm), (MethodHeader, Utf8("Greet")), Deadline()], ct);
        await requester.ReceiveAsync([Convert.ToHexString(warm)], Patience, ct);

        // The hostile request and a normal one behind it on partition 0, another normal one on partition 1.
        var hostile = await requester.SendAsync(requests, 0, """{"name":"h"}"""u8.ToArray(),
            [(CorrelationIdHeader, NewId()), (ReplyTopicHeader, Utf8(hostileTopic)), (MethodHeader, Utf8("Greet")), Deadline()], ct);
        var same = NewId();
        var other = NewId();
        var clock = Stopwatch.StartNew();
        var normal = await requester.SendAsync(requests, 0, """{"name":"n"}"""u8.ToArray(), [.. Route(same), (MethodHeader, Utf8("Greet")), Deadline()], ct);
        await requester.SendAsync(requests, 1, """{"name":"o"}"""u8.ToArray(), [.. Route(other), (MethodHeader, Utf8("Greet")), Deadline()], ct);

        // Patient enough to see whether they come at all (the producer's MaxBlock is 60 s), so the failure says what happened.
        string[] ids = [Convert.ToHexString(same), Convert.ToHexString(other)];
        var received = await requester.ReceiveAsync(ids, TimeSpan.FromSeconds(80), ct, failOnTimeout: false);
        var took = clock.Elapsed;
        var stats = server.Statistics;
        Assert.True(received.Count == 2 && took < Prompt,
            $"behind a request for reply topic '{hostileTopic}': {received.Count} of 2 normal replies arrived in {took.TotalSeconds:F1} s"
            + $" (partition 0: {received.ContainsKey(ids[0])}, partition 1: {received.ContainsKey(ids[1])}; Replies {stats.Replies}, ReplyFailures {stats.ReplyFailures})");
        Assert.All(received.Values, r => Assert.Equal(RpcStatus.Ok, Status(r)));
        await ServerTestSupport.WaitForCommitAsync(broker.BootstrapServers, group, normal.TopicPartition, normal.Offset.Value + 1, ct);
        Assert.Equal(hostile.TopicPartition, normal.TopicPartition);
    }

    /// <summary>Any header list (RPC names and others, any values, repeated, null) is read without throwing, and what the reader says is consistent.</summary>
    [FsCheck.Xunit.Property(MaxTest = 2000)]
    public void The_reader_never_throws_and_its_verdict_is_consistent(byte[][] values, byte[] picks, bool[] nulls)
    {
        var harness = new DispatchHarness();
        harness.MapRaw("Echo", (payload, _) => ValueTask.FromResult(payload));
        harness.Map<Greeting, Reply>("Greet", (g, _) => ValueTask.FromResult(new Reply(g.Name)));
        string[] names = [CorrelationIdHeader, ReplyTopicHeader, ReplyPartitionHeader, MethodHeader, DeadlineHeader, ContentTypeHeader, "other", ""];
        var headers = new List<RecordHeader>();
        for (var i = 0; i < values.Length; i++)
        {
            var name = names[(picks.Length == 0 ? i : picks[i % picks.Length]) % names.Length];
            var isNull = nulls.Length > 0 && nulls[i % nulls.Length] && i % 3 == 0;
            var value = values[i] ?? [];
            if (name == MethodHeader && value.Length > 0 && value[0] % 2 == 0)
            {
                value = Utf8(value[0] % 4 == 0 ? "Echo" : "Greet");
            }

            headers.Add(new RecordHeader(Utf8(name), isNull ? default : value, isNull));
        }

        var request = new ServerRequest();
        var routed = harness.Read(request, headers, Array.Empty<byte>());

        if (request.HasRoute)
        {
            Assert.False(request.CorrelationId.IsEmpty);
            Assert.True(request.ReplyPartition is null or >= 0);
        }

        if (!routed)
        {
            // Dropped: nothing to answer with, or a route that cannot be used.
            Assert.True(!request.HasRoute || request.Problem == RpcStatus.Ok);
        }
        else if (request.Problem != RpcStatus.Ok)
        {
            Assert.True(request.HasRoute);
            Assert.Equal(RpcStatus.InvalidArgument, request.Problem);
        }
    }

    /// <summary>The dispatcher completes (never throws) for any request the reader lets through, and answers every routed one exactly once.</summary>
    [FsCheck.Xunit.Property(MaxTest = 500)]
    public void The_dispatcher_answers_any_routed_request_once(byte[] id, byte[] method, byte[] deadline, byte[] payload, bool withContentType)
    {
        var harness = new DispatchHarness();
        harness.MapRaw("Echo", (p, _) => ValueTask.FromResult(p));
        harness.Map<Greeting, Reply>("Greet", (g, context) => ValueTask.FromResult(new Reply(g.Name + context.CancellationToken.CanBeCanceled)));
        var methodBytes = method.Length > 0 && method[0] % 3 == 0 ? Utf8("Greet") : method.Length > 0 && method[0] % 3 == 1 ? Utf8("Echo") : method;
        var deadlineBytes = deadline.Length >= 1 && deadline[0] % 2 == 0 ? Int64(DateTimeOffset.UtcNow.AddDays(deadline[0]).ToUnixTimeMilliseconds()) : deadline;
        List<RecordHeader> headers =
        [
            new(Utf8(CorrelationIdHeader), id),
            new(Utf8(ReplyTopicHeader), Utf8("replies")),
            new(Utf8(MethodHeader), methodBytes),
            new(Utf8(DeadlineHeader), deadlineBytes),
        ];
        if (withContentType)
        {
            headers.Add(new RecordHeader(Utf8(ContentTypeHeader), Utf8(Json)));
        }

        if (methodBytes.AsSpan().SequenceEqual(Utf8("Greet")) && payload.Length % 2 == 0)
        {
            payload = """{"name":"p"}"""u8.ToArray();
        }

        var (routed, reply) = harness.RunAsync(headers, payload).GetAwaiter().GetResult();

        if (!routed)
        {
            Assert.Empty(id);
            return;
        }

        var expired = deadlineBytes.Length == 8 && BinaryPrimitives.ReadInt64BigEndian(deadlineBytes) <= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()
            && BinaryPrimitives.ReadInt64BigEndian(deadlineBytes) >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
        if (expired && methodBytes.AsSpan().SequenceEqual(Utf8("Greet")) | methodBytes.AsSpan().SequenceEqual(Utf8("Echo")))
        {
            return; // skipped without a reply (the default policy)
        }

        Assert.NotNull(reply);
        Assert.Equal(id, reply.Headers[CorrelationIdHeader]);
        Assert.True(reply.Status is RpcStatus.Ok or RpcStatus.InvalidArgument or RpcStatus.Unimplemented,
            $"status {reply.Status}: {reply.Error} (deadline {Convert.ToHexString(deadlineBytes)}, method {Convert.ToHexString(methodBytes)})");
        Assert.Single(harness.Sink.Replies);
    }

    private static RpcServer StartServer(string bootstrap, string requests, string group, ConcurrentQueue<string> ran)
    {
        var server = new RpcServer(ServerTestSupport.Options(bootstrap, requests, group, "hostile-server"));
        server
            .Map<Greeting, Reply>("Greet", (greeting, context) =>
            {
                ran.Enqueue(context.Method);
                return ValueTask.FromResult(new Reply("hello " + greeting.Name));
            })
            .Map<Greeting, Reply>("Token", (greeting, context) =>
            {
                // A handler passing its token on, as handlers are told to.
                context.CancellationToken.ThrowIfCancellationRequested();
                return ValueTask.FromResult(new Reply("token " + greeting.Name));
            })
            .Map<Greeting, Reply>("Boom", (_, _) => throw new InvalidOperationException("boom"))
            .Map<Greeting, Reply>("BoomLater", async (_, context) =>
            {
                await Task.Yield();
                throw new InvalidOperationException("boom later " + context.Method);
            })
            .MapRaw("Echo", (payload, _) => ValueTask.FromResult(payload));
        return server;
    }

    private static byte[] NewId()
    {
        var bytes = new byte[16];
        Assert.True(Guid.NewGuid().TryWriteBytes(bytes, bigEndian: true, out _));
        return bytes;
    }

    private static List<(string, byte[]?)> RouteTo(byte[] id, string replies) =>
        [(CorrelationIdHeader, id), (ReplyTopicHeader, Utf8(replies)), (ReplyPartitionHeader, Int32(ReplyPartition))];

    private static (string, byte[]?) Deadline() => (DeadlineHeader, Int64(DateTimeOffset.UtcNow.AddSeconds(60).ToUnixTimeMilliseconds()));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string? Utf8Text(byte[]? bytes) => bytes is null ? null : Encoding.UTF8.GetString(bytes);

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

    private static byte[]? Last(CK.ConsumeResult<byte[]?, byte[]?> result, string name) =>
        result.Message.Headers.TryGetLastBytes(name, out var value) ? value : null;

    private static RpcStatus Status(CK.ConsumeResult<byte[]?, byte[]?> result) =>
        Last(result, StatusHeader) switch
        {
            null => RpcStatus.Ok,
            { Length: 4 } bytes => (RpcStatus)BinaryPrimitives.ReadInt32BigEndian(bytes),
            _ => RpcStatus.Unknown,
        };

    /// <summary>Produces raw records (any headers, null values included) and reads replies on one reply partition, matched by correlation ID bytes.</summary>
    private sealed class RawRequester : IDisposable
    {
        private readonly CK.IProducer<byte[]?, byte[]?> _producer;
        private readonly CK.IConsumer<byte[]?, byte[]?> _consumer;

        public RawRequester(string bootstrap, string replyTopic)
        {
            _producer = new CK.ProducerBuilder<byte[]?, byte[]?>(new CK.ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0, MessageMaxBytes = 4_000_000 }).Build();
            _consumer = new CK.ConsumerBuilder<byte[]?, byte[]?>(new CK.ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "hostile-requester-" + Guid.NewGuid().ToString("N")[..8],
                EnableAutoCommit = false,
                FetchWaitMaxMs = 10,
            }).Build();
            var replies = new CK.TopicPartition(replyTopic, ReplyPartition);
            var next = _consumer.QueryWatermarkOffsets(replies, TimeSpan.FromSeconds(30)).High.Value;
            _consumer.Assign(new CK.TopicPartitionOffset(replies, next));
        }

        public Dictionary<string, CK.ConsumeResult<byte[]?, byte[]?>> Received { get; } = [];

        public Task<CK.DeliveryResult<byte[]?, byte[]?>> SendAsync(string topic, byte[]? key, byte[]? value, List<(string Name, byte[]? Value)> headers,
            CancellationToken cancellationToken)
        {
            var kafkaHeaders = new CK.Headers();
            foreach (var (name, bytes) in headers)
            {
                kafkaHeaders.Add(name, bytes);
            }

            return _producer.ProduceAsync(topic, new CK.Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = kafkaHeaders }, cancellationToken);
        }

        public Task<CK.DeliveryResult<byte[]?, byte[]?>> SendAsync(string topic, int partition, byte[]? value, List<(string Name, byte[]? Value)> headers,
            CancellationToken cancellationToken)
        {
            var kafkaHeaders = new CK.Headers();
            foreach (var (name, bytes) in headers)
            {
                kafkaHeaders.Add(name, bytes);
            }

            return _producer.ProduceAsync(new CK.TopicPartition(topic, partition), new CK.Message<byte[]?, byte[]?> { Value = value, Headers = kafkaHeaders }, cancellationToken);
        }

        public Task<Dictionary<string, CK.ConsumeResult<byte[]?, byte[]?>>> ReceiveAsync(IReadOnlyCollection<string> ids, TimeSpan patience, CancellationToken cancellationToken,
            bool failOnTimeout = true) =>
            Task.Run(() =>
            {
                var end = DateTime.UtcNow + patience;
                while (!ids.All(Received.ContainsKey))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (DateTime.UtcNow > end && !failOnTimeout)
                    {
                        break;
                    }

                    if (DateTime.UtcNow > end)
                    {
                        Assert.Fail($"Timed out after {patience} waiting for replies; missing {string.Join(", ", ids.Where(i => !Received.ContainsKey(i)).Select(i => i[..Math.Min(8, i.Length)]))}.");
                    }

                    if (_consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } result)
                    {
                        var id = result.Message.Headers.TryGetLastBytes(CorrelationIdHeader, out var bytes) ? Convert.ToHexString(bytes) : "";
                        Received[id] = result;
                    }
                }

                return ids.Where(Received.ContainsKey).ToDictionary(i => i, i => Received[i]);
            }, cancellationToken);

        public void Dispose()
        {
            _consumer.Dispose();
            _producer.Dispose();
        }
    }
}
