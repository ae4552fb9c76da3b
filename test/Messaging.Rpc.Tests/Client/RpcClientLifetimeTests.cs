using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>Disposal, reply modes, and the pooled payload streams under failures.</summary>
public sealed class RpcClientLifetimeTests(TestBrokerFixture fixture)
{
    public sealed class Payload(string text)
    {
        public string Text { get; set; } = text;
    }

    [Fact(Timeout = 120_000)]
    public async Task Disposing_with_500_pending_calls_completes_them_all_at_once_and_keeps_nothing_of_them()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var replier = TestReplier.Start(broker.BootstrapServers, requests, 2);
        var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        await client.StartAsync(ct);
        // The request topic warm first: every request below then takes the producer's direct path, which records its
        // acknowledgement before a flush of the producer completes.
        await client.CallAsync<Payload, Payload>(requests, "echo", new Payload("warm"), default, ct);

        var (calls, payloads) = StartCalls(client, requests, 500, ct);
        await Conditions.WaitUntilAsync(() => replier.Received == 501, TimeSpan.FromSeconds(30), "every request reached the replier", ct);
        // The replier reads a request once the broker has written it, which can be before the client's producer has read
        // the broker's acknowledgement of it: every request acknowledged before the disposal, as asserted below.
        await client.Producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(500, client.PendingEntries);

        var watch = Stopwatch.StartNew();
        var disposal = client.DisposeAsync().AsTask();
        var outcomes = await Task.WhenAll(calls.Select(async call =>
        {
            try
            {
                await call;
                return null;
            }
            catch (RpcException ex)
            {
                return ex;
            }
        })).WaitAsync(TimeSpan.FromSeconds(10), ct);
        var completedIn = watch.Elapsed;
        await disposal;

        Assert.True(completedIn < TimeSpan.FromSeconds(1), "every pending call completes within a second of disposal; took " + completedIn);
        Assert.All(outcomes, error =>
        {
            Assert.NotNull(error);
            Assert.Equal(RpcStatus.Unavailable, error.Status);
            Assert.IsType<ObjectDisposedException>(error.InnerException);
            Assert.True(error.RequestAcknowledged);
        });
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.Statistics.PendingCalls);
        Assert.Equal(0, client.Statistics.PendingRequestBytes);

        calls.Clear();

        // An async method's frame is cleared on the thread that completed it, possibly just after its awaiter resumed
        // here: collect until nothing is reachable, within a deadline, rather than once.
        var collectDeadline = Stopwatch.StartNew();
        while (payloads.Any(p => p.TryGetTarget(out var _)) && collectDeadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            await Task.Delay(10, ct);
        }

        Assert.All(payloads, payload => Assert.False(payload.TryGetTarget(out var _), "a request payload is still reachable after disposal"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.CallAsync<Payload, Payload>(requests, "echo", new Payload("late"), default, ct).AsTask());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_whose_construction_fails_keeps_nothing_alive()
    {
        var ct = TestContext.Current.CancellationToken;
        var loggers = FailToConstruct();

        await Conditions.WaitUntilAsync(() => Collected(loggers, "Messaging.Rpc.RpcClient"), TimeSpan.FromSeconds(10),
            "the failed client's circuit-breaker state (and its logger) was collected", ct);
        await Conditions.WaitUntilAsync(() => Collected(loggers, "Messaging.Producer"), TimeSpan.FromSeconds(10),
            "the failed client's request producer (and its logger) was collected", ct);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_server_whose_construction_fails_keeps_nothing_alive()
    {
        var ct = TestContext.Current.CancellationToken;
        var loggers = FailToConstructServer();

        await Conditions.WaitUntilAsync(() => Collected(loggers, "Messaging.Producer"), TimeSpan.FromSeconds(10),
            "the failed server's reply producer (and its logger) was collected", ct);
    }

    /// <summary>A server whose request consumer cannot be built (its CA file is missing) after its reply producer was.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TrackingLoggerFactory FailToConstructServer()
    {
        var loggers = new TrackingLoggerFactory();
        var options = new RpcServerOptions { BootstrapServers = "127.0.0.1:1", RequestTopics = ["requests"], GroupId = "g", LoggerFactory = loggers };
        options.Consumer.SecurityProtocol = Messaging.SecurityProtocol.Ssl;
        options.Consumer.Ssl = new Messaging.SslOptions { CaLocation = "/nonexistent/ca.pem" };
        Assert.Throws<ArgumentException>(() => new RpcServer(options));
        return loggers;
    }

    /// <summary>A client whose reply consumer cannot be built (its CA file is missing) after its producer and breakers were.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TrackingLoggerFactory FailToConstruct()
    {
        var loggers = new TrackingLoggerFactory();
        var options = RpcTestSupport.Options("127.0.0.1:1", "replies", o =>
        {
            o.LoggerFactory = loggers;
            o.Resilience.CircuitBreaker.Enabled = true;
            o.Consumer.SecurityProtocol = Messaging.SecurityProtocol.Ssl;
            o.Consumer.Ssl = new Messaging.SslOptions { CaLocation = "/nonexistent/ca.pem" };
        });
        Assert.Throws<ArgumentException>(() => new RpcClient(options));
        return loggers;
    }

    private static bool Collected(TrackingLoggerFactory loggers, string category)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return !loggers.IsAlive(category);
    }

    /// <summary>Hands out a fresh logger per category and keeps only weak references to them.</summary>
    private sealed class TrackingLoggerFactory : Microsoft.Extensions.Logging.ILoggerFactory
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, WeakReference> _created = new(StringComparer.Ordinal);

        public bool IsAlive(string category) => _created.TryGetValue(category, out var logger) && logger.IsAlive;

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName)
        {
            var logger = new Logger();
            _created[categoryName] = new WeakReference(logger);
            return logger;
        }

        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Logger : Microsoft.Extensions.Logging.ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => false;

            public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
                Func<TState, Exception?, string> formatter)
            {
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_per_instance_reply_topic_is_created_at_start_and_deleted_on_dispose()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        // The embedded broker (librdkafka's mock cluster) implements neither CreateTopics nor DeleteTopics: the client,
        // which creates its topic at start and deletes it on dispose, reaches it through a proxy that answers both with
        // the cluster's own calls. The replier and the checks go to the cluster itself: they only produce, consume and
        // describe, and see there that the topic is really created and deleted.
        await using var proxy = broker.Faults is Messaging.Testing.EmbeddedKafkaCluster cluster
            ? Messaging.Testing.Security.KafkaProxy.Start(cluster, new Messaging.Testing.Security.KafkaProxyOptions { AnswerTopicAdministration = true })
            : null;
        var clientServers = proxy?.BootstrapServers ?? broker.BootstrapServers;

        await using var replier = TestReplier.Start(broker.BootstrapServers, requests, 2);
        var client = new RpcClient(RpcTestSupport.Options(clientServers, replies, o =>
        {
            o.ReplyMode = RpcReplyMode.PerInstanceTopic;
            o.InstanceId = "instance-a";
        }));
        await client.StartAsync(ct);
        var own = client.PerInstanceTopic!;
        Assert.StartsWith(replies + "-instance-a-", own, StringComparison.Ordinal);
        await using var admin = new Messaging.KafkaAdminClient(new Messaging.KafkaAdminOptions { BootstrapServers = broker.BootstrapServers });

        var reply = await client.CallAsync<Payload, Payload>(requests, "echo", new Payload("mine"), default, ct);
        Assert.Equal("mine", reply.Text);
        Assert.Equal(own, client.ReplyTopic);
        Assert.Equal(0, client.ReplyPartition);
        Assert.Single(await admin.DescribeTopicsAsync([own], ct));

        await client.DisposeAsync();

        var gone = await Assert.ThrowsAsync<Messaging.KafkaAdminException>(() => admin.DescribeTopicsAsync([own], ct));
        Assert.Contains(own, gone.Errors.Keys);
    }

    [Fact]
    public async Task Two_clients_with_the_same_instance_id_each_get_a_per_instance_reply_topic_of_their_own()
    {
        // Were the topic shared, each would read the other's replies, and the first disposed would delete it under the other.
        static RpcClientOptions SameInstance(RpcClientOptions options)
        {
            options.ReplyMode = RpcReplyMode.PerInstanceTopic;
            options.InstanceId = "pod-a";
            return options;
        }

        await using var first = new RpcClient(SameInstance(RpcTestSupport.Options("127.0.0.1:1", "replies")));
        await using var second = new RpcClient(SameInstance(RpcTestSupport.Options("127.0.0.1:1", "replies")));

        Assert.NotEqual(first.PerInstanceTopic, second.PerInstanceTopic);
        Assert.StartsWith("replies-pod-a-", first.PerInstanceTopic, StringComparison.Ordinal);
        Assert.StartsWith("replies-pod-a-", second.PerInstanceTopic, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_reply_set_up_the_broker_refuses_fails_start_and_calls_with_Unavailable()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var missingReplies = TestBrokerFixture.UniqueTopicName("no-replies");
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, missingReplies, o => o.CreateReplyTopic = false));

        var start = await Assert.ThrowsAsync<RpcException>(() => client.StartAsync(ct));
        var call = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Payload, Payload>(requests, "echo", new Payload("x"), default, ct).AsTask());

        Assert.Equal(RpcStatus.Unavailable, start.Status);
        Assert.Contains(missingReplies, start.Message, StringComparison.Ordinal);
        Assert.Equal(RpcStatus.Unavailable, call.Status);
        Assert.Equal(0, client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task Reading_every_partition_of_a_shared_reply_topic_gets_replies_placed_by_key()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.ReplyMode = RpcReplyMode.SharedTopicAllPartitions, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            client.CallAsync<Payload, Payload>(requests, "echo", new Payload("p" + i), new RpcCallOptions { Key = new[] { (byte)i } }, ct).AsTask()));

        Assert.Equal(Enumerable.Range(0, 20).Select(i => "p" + i), results.Select(r => r.Text));
        Assert.Equal(-1, client.ReplyPartition);
    }

    [Fact(Timeout = 60_000)]
    public async Task Reading_every_partition_of_a_shared_reply_topic_follows_partitions_added_after_start()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await ScaledOutAfterStartAsync(TimeSpan.FromMilliseconds(100), ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);

        // Calls go on while the client finds the added partitions; every one is answered, and once the client reads the
        // new partitions its requests name them too.
        var calls = 20;
        while (!replier.Headers.Any(h => BinaryPrimitives.ReadInt32BigEndian(h["kafka_replyPartition"]) >= 2))
        {
            Assert.True(calls < 2000, "no request named an added partition");
            var reply = await client.CallAsync<Payload, Payload>(requests, "echo", new Payload("p" + calls), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(10) }, ct);
            Assert.Equal("p" + calls, reply.Text);
            calls++;
        }

        Assert.All(replier.Headers, h => Assert.InRange(BinaryPrimitives.ReadInt32BigEndian(h["kafka_replyPartition"]), 0, 3));
        Assert.Equal(calls, client.Statistics.CompletedCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task Reading_every_partition_of_a_shared_reply_topic_gets_every_reply_at_once_while_it_has_not_seen_added_partitions()
    {
        var ct = TestContext.Current.CancellationToken;

        // The default MetadataMaxAge: the client looks for added partitions only in 5 minutes, while the replier, producing
        // to the reply topic for the first time after the scale-out, knows all 4 partitions.
        await using var rpc = await ScaledOutAfterStartAsync(TimeSpan.FromMinutes(5), ct);

        // Each request named one of the 2 partitions the client reads, and both were named.
        var named = rpc.Replier.Headers.Select(h => h.TryGetValue("kafka_replyPartition", out var p) ? BinaryPrimitives.ReadInt32BigEndian(p) : -1).ToArray();
        Assert.Equal(20, named.Length);
        Assert.All(named, p => Assert.InRange(p, 0, 1));
        Assert.Equal([0, 1], named.Distinct().Order());
        Assert.Equal(-1, rpc.Client.ReplyPartition);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_shared_reply_partition_comes_from_a_hash_of_the_instance_id()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.InstanceId = "pod-7", ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);

        var reply = await client.CallAsync<Payload, Payload>(requests, "echo", new Payload("hi"), default, ct);

        Assert.Equal("hi", reply.Text);
        Assert.Equal(ReplyTopics.PartitionFor("pod-7", 2), client.ReplyPartition);
    }

    [Fact(Timeout = 60_000)]
    public async Task Settings_changed_after_the_client_was_built_do_not_change_it()
    {
        var ct = TestContext.Current.CancellationToken;
        // One options object reused for two clients, each on its own reply partition.
        RpcClientOptions options = null!;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => (o.ReplyPartition, options) = (0, o), ct);
        var first = rpc.Client;
        options.ReplyPartition = 1;
        options.MaxRequestBytes = 10;
        options.Resilience.MaxAttempts = 1;
        await using var second = new RpcClient(options);

        var reply = await first.CallAsync<Payload, Payload>(rpc.Requests, "echo", new Payload("longer than ten bytes"), default, ct);
        // Still retried (three attempts, as built): the first attempt fails with Unavailable, the second is answered.
        var retried = await first.CallAsync<Payload, Payload>(rpc.Requests, "flaky", new Payload("again"), new RpcCallOptions { Idempotent = true }, ct);
        await second.StartAsync(ct);

        Assert.Equal("longer than ten bytes", reply.Text);
        Assert.Equal("again", retried.Text);
        Assert.Equal(0, first.ReplyPartition);
        Assert.Equal(1, second.ReplyPartition);
    }

    [Fact(Timeout = 60_000)]
    public async Task Disposing_during_the_start_fails_the_start_and_the_calls_waiting_for_it_as_disposed()
    {
        var ct = TestContext.Current.CancellationToken;
        // Nothing listens there: the start keeps trying until the client is disposed.
        var client = new RpcClient(RpcTestSupport.Options("127.0.0.1:1", "replies"));
        var start = client.StartAsync(ct);
        var call = client.CallAsync<Payload, Payload>("requests", "echo", new Payload("x"), default, ct).AsTask();

        await client.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => start);
        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(RpcStatus.Unavailable, error.Status);
        Assert.IsType<ObjectDisposedException>(error.InnerException);
    }

    [Fact(Timeout = 60_000)]
    public async Task Disposing_while_calls_look_up_their_request_topic_fails_them_as_disposed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var faults = rpc.Broker.Faults;
        Assert.SkipWhen(faults is null, "Delays are injected on the embedded broker only.");
        await rpc.Client.StartAsync(ct);
        for (var broker = 1; broker <= rpc.Broker.BrokerCount; broker++)
        {
            var slow = (ErrorCode.None, TimeSpan.FromSeconds(3));
            faults.PushBrokerRequestErrors(broker, ApiKey.Metadata, slow, slow, slow);
        }

        // The request topic is new to the client: both look it up first, and the lookup is slow.
        var call = rpc.Client.CallAsync<Payload, Payload>(rpc.Requests, "echo", new Payload("x"), default, ct).AsTask();
        var send = rpc.Client.SendAsync(rpc.Requests, "echo", new Payload("y"), default, ct).AsTask();
        await rpc.Client.DisposeAsync();

        var callError = await Assert.ThrowsAsync<RpcException>(() => call);
        var sendError = await Assert.ThrowsAsync<RpcException>(() => send);
        Assert.Equal(RpcStatus.Unavailable, callError.Status);
        Assert.Equal(RpcStatus.Unavailable, sendError.Status);
        Assert.IsType<ObjectDisposedException>(callError.InnerException);
        Assert.IsType<ObjectDisposedException>(sendError.InnerException);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_call_waiting_for_the_client_to_start_fails_at_its_own_deadline()
    {
        var ct = TestContext.Current.CancellationToken;
        // Nothing listens there: the start keeps trying until its own 20 s run out.
        await using var client = new RpcClient(RpcTestSupport.Options("127.0.0.1:1", "replies", o => o.StartTimeout = TimeSpan.FromSeconds(20)));

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.CallAsync<Payload, Payload>("requests", "echo", new Payload("x"), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(1) }, ct).AsTask());
        watch.Stop();

        Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 60_000)]
    public async Task Pooled_streams_are_all_returned_after_calls_that_fail_to_encode_or_to_produce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            o.Serializer = new FailingSerializer();
            o.Pools.BlockSize = 1024; // payloads over a block take the contiguous large-buffer path
            o.MaxRequestBytes = 64 * 1024;
            o.Producer.MaxRequestSize = 16 * 1024; // the producer refuses what the client lets through
            o.Producer.BatchSize = 16 * 1024;
        }, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        var manager = client.Streams;
        var created = 0;
        var disposed = 0;
        manager.StreamCreated += (_, _) => Interlocked.Increment(ref created);
        manager.StreamDisposed += (_, _) => Interlocked.Increment(ref disposed);

        // Warm: a successful call first (through the cold path), then the same failures on the warm path.
        Assert.Equal("ok", (await client.CallAsync<Payload, Payload>(requests, "echo", new Payload("ok"), default, ct)).Text);
        for (var round = 0; round < 2; round++)
        {
            var encode = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Payload, Payload>(requests, "echo", new Payload("throw"), default, ct).AsTask());
            Assert.Equal(RpcStatus.Internal, encode.Status);
            var tooLargeForClient = await Assert.ThrowsAsync<RpcException>(() =>
                client.CallAsync<Payload, Payload>(requests, "echo", new Payload(new string('x', 70 * 1024)), default, ct).AsTask());
            Assert.Equal(RpcStatus.ResourceExhausted, tooLargeForClient.Status);
            var refusedByProducer = await Assert.ThrowsAsync<RpcException>(() =>
                client.CallAsync<Payload, Payload>(requests, "echo", new Payload(new string('y', 20 * 1024)), default, ct).AsTask());
            Assert.Equal(RpcStatus.ResourceExhausted, refusedByProducer.Status);
            Assert.IsType<ProduceException>(refusedByProducer.InnerException);
            var large = await client.CallAsync<Payload, Payload>(requests, "echo", new Payload(new string('z', 3000)), default, ct);
            Assert.Equal(3000, large.Text.Length);
        }

        Assert.Equal(9, Volatile.Read(ref created));
        Assert.Equal(Volatile.Read(ref created), Volatile.Read(ref disposed));
        Assert.Equal(0, manager.SmallPoolInUseSize);
        Assert.Equal(0, manager.LargePoolInUseSize);
        Assert.Equal(0, client.PendingEntries);
    }

    /// <summary>
    /// A started client reading every partition of its 2-partition reply topic, which the operator then scales out to 4
    /// (made anew with more: the embedded broker cannot add partitions to a topic; as empty as the partitions the client
    /// already reads, which it keeps reading from where they stand); then 20 keyed calls, all answered in time.
    /// </summary>
    private async Task<RpcHarness> ScaledOutAfterStartAsync(TimeSpan metadataMaxAge, CancellationToken ct)
    {
        var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            o.ReplyMode = RpcReplyMode.SharedTopicAllPartitions;
            o.Consumer.MetadataMaxAge = metadataMaxAge;
        }, ct);
        try
        {
            await rpc.Client.StartAsync(ct);
            await rpc.Broker.DeleteTopicAsync(rpc.Replies, ct);
            await rpc.Broker.CreateTopicAsync(rpc.Replies, 4, 1, ct);

            var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => rpc.Client.CallAsync<Payload, Payload>(rpc.Requests, "echo", new Payload("p" + i),
                new RpcCallOptions { Key = new[] { (byte)i }, Timeout = TimeSpan.FromSeconds(10) }, ct).AsTask()));

            Assert.Equal(Enumerable.Range(0, 20).Select(i => "p" + i), results.Select(r => r.Text));
            Assert.Equal(20, rpc.Client.Statistics.CompletedCalls);
            return rpc;
        }
        catch
        {
            await rpc.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts calls whose payloads only the client could keep alive; the test keeps weak references.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (List<Task<Payload>> Calls, List<WeakReference<Payload>> Payloads) StartCalls(RpcClient client, string topic, int count, CancellationToken ct)
    {
        var calls = new List<Task<Payload>>(count);
        var payloads = new List<WeakReference<Payload>>(count);
        for (var i = 0; i < count; i++)
        {
            var payload = new Payload("pending-" + i);
            payloads.Add(new WeakReference<Payload>(payload));
            calls.Add(client.CallAsync<Payload, Payload>(topic, "ignore", payload, default, ct).AsTask());
        }

        return (calls, payloads);
    }

    /// <summary>JSON, except that a payload whose text is "throw" fails half-way through writing.</summary>
    private sealed class FailingSerializer : IRpcSerializer
    {
        public string ContentType => "application/json";

        public void Serialize<T>(T value, IBufferWriter<byte> destination)
        {
            if (value is Payload { Text: "throw" })
            {
                destination.Write("{\"text\":"u8);
                throw new InvalidOperationException("codec failure");
            }

            JsonRpcSerializer.Default.Serialize(value, destination);
        }

        public T Deserialize<T>(ReadOnlySpan<byte> source) => JsonRpcSerializer.Default.Deserialize<T>(source);

        public T Deserialize<T>(in ReadOnlySequence<byte> source) => JsonRpcSerializer.Default.Deserialize<T>(source);
    }
}
