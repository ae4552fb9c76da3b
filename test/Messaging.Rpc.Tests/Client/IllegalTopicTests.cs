using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>A request topic Kafka never takes fails the call at once with InvalidArgument, saying why, before any broker round trip.</summary>
public sealed class IllegalTopicTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index);

    /// <summary>Topics Kafka refuses, with why.</summary>
    public static TheoryData<string, string> IllegalTopics => new()
    {
        { "", "it is empty" },
        { ".", "'.' and '..' are not allowed" },
        { "..", "'.' and '..' are not allowed" },
        { new string('t', 250), "it has 250 characters, more than 249" },
        { "orders/v1", "'/' is not allowed" },
        { "orders v1", "' ' is not allowed" },
        { "commandes-é", "'é' is not allowed" },
    };

    /// <summary>Passes every call on; counts the calls it saw.</summary>
    private sealed class Counting : RpcInterceptor
    {
        public int Calls;

        public override ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            Interlocked.Increment(ref Calls);
            return continuation(context);
        }
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(IllegalTopics))]
    public async Task Calls_and_sends_to_an_illegal_topic_fail_at_once_with_InvalidArgument_without_reaching_a_broker(string topic, string why)
    {
        var ct = TestContext.Current.CancellationToken;
        // No broker behind the address: the start or a topic lookup would wait for it.
        var interceptor = new Counting();
        await using var client = new RpcClient(RpcTestSupport.Options("127.0.0.1:1", "replies"));
        await using var intercepted = new RpcClient(RpcTestSupport.Options("127.0.0.1:1", "replies", o => o.Interceptors = [interceptor]));
        var timeout = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) };

        Task[] attempts =
        [
            client.CallAsync<Ping, Ping>(topic, "echo", new Ping(1), timeout, ct).AsTask(),
            client.CallAsync(topic, "echo", new byte[] { 1 }, timeout, ct).AsTask(),
            client.SendAsync(topic, "notify", new Ping(1), timeout, ct).AsTask(),
            client.SendAsync(topic, "notify", new byte[] { 1 }, timeout, ct).AsTask(),
            intercepted.CallAsync<Ping, Ping>(topic, "echo", new Ping(1), timeout, ct).AsTask(),
            intercepted.CallAsync(topic, "echo", new byte[] { 1 }, timeout, ct).AsTask(),
        ];

        foreach (var attempt in attempts)
        {
            Assert.True(attempt.IsCompleted, "the call waited instead of failing at once");
            var error = await Assert.ThrowsAsync<RpcException>(() => attempt);
            Assert.Equal(RpcStatus.InvalidArgument, error.Status);
            Assert.Equal(topic, error.Topic);
            Assert.Contains("the request topic is not a legal Kafka topic name: " + why, error.Message, StringComparison.Ordinal);
            Assert.False(error.RequestAcknowledged);
        }

        Assert.Equal(2, interceptor.Calls); // the interceptors see the call and its outcome, as for any call
        Assert.Null(client.ReplyTopic); // never started
        Assert.Equal(0, client.PendingEntries);
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(IllegalTopics))]
    public async Task A_started_client_refuses_an_illegal_topic_without_looking_it_up(string topic, string why)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        await rpc.Client.StartAsync(ct);

        var call = await Assert.ThrowsAsync<RpcException>(() => rpc.Client.CallAsync(topic, "echo", new byte[] { 1 }, default, ct).AsTask());
        var oneWay = await Assert.ThrowsAsync<RpcException>(() => rpc.Client.SendAsync(topic, "notify", new byte[] { 1 }, default, ct).AsTask());
        var reply = await rpc.Client.CallAsync(rpc.Requests, "echo", new byte[] { 2 }, default, ct); // the client goes on

        Assert.Equal(RpcStatus.InvalidArgument, call.Status);
        Assert.Equal(RpcStatus.InvalidArgument, oneWay.Status);
        Assert.Contains(why, call.Message, StringComparison.Ordinal);
        Assert.Equal(new byte[] { 2 }, reply);
        Assert.Equal(0, rpc.Client.PendingEntries);
    }

    [Fact]
    public async Task Only_a_topic_not_known_yet_is_checked_and_one_Kafka_refuses_is_never_looked_up()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTimeProvider();
        var lookups = new List<string>();
        var topics = new KnownTopics(topic =>
        {
            lookups.Add(topic);
            return Task.CompletedTask;
        }, time);
        var longest = new string('t', 249);

        var refused = topics.EnsureAsync("orders/v1", "echo", time.GetTimestamp(), TimeSpan.FromSeconds(30), ct).AsTask();
        await topics.EnsureAsync(longest, "echo", time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
        await topics.EnsureAsync("orders.v1_a-Z", "echo", time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);

        Assert.True(refused.IsCompleted);
        Assert.Equal(RpcStatus.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => refused)).Status);
        Assert.Equal([longest, "orders.v1_a-Z"], lookups);

        // Known now: a call to it neither looks it up nor checks its name again, and allocates nothing.
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(DoneAtOnce(topics.EnsureAsync(longest, "echo", 0, TimeSpan.FromSeconds(30), ct)));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(2, lookups.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_null_topic_throws_ArgumentNullException_as_before()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var client = new RpcClient(RpcTestSupport.Options("127.0.0.1:1", "replies"));
        await using var intercepted = new RpcClient(RpcTestSupport.Options("127.0.0.1:1", "replies", o => o.Interceptors = [new Counting()]));

        Assert.Equal("topic", (await Assert.ThrowsAsync<ArgumentNullException>(() => client.CallAsync<Ping, Ping>(null!, "echo", new Ping(1), default, ct).AsTask())).ParamName);
        Assert.Equal("topic", (await Assert.ThrowsAsync<ArgumentNullException>(() => client.CallAsync(null!, "echo", new byte[] { 1 }, default, ct).AsTask())).ParamName);
        Assert.Equal("topic", (await Assert.ThrowsAsync<ArgumentNullException>(() => client.SendAsync(null!, "notify", new Ping(1), default, ct).AsTask())).ParamName);
        Assert.Equal("topic", (await Assert.ThrowsAsync<ArgumentNullException>(() => client.SendAsync(null!, "notify", new byte[] { 1 }, default, ct).AsTask())).ParamName);
        Assert.Equal("topic", (await Assert.ThrowsAsync<ArgumentNullException>(() => intercepted.CallAsync<Ping, Ping>(null!, "echo", new Ping(1), default, ct).AsTask())).ParamName);
        Assert.Equal("topic", (await Assert.ThrowsAsync<ArgumentNullException>(() => intercepted.CallAsync(null!, "echo", new byte[] { 1 }, default, ct).AsTask())).ParamName);
    }

    private static bool DoneAtOnce(ValueTask task) => task.IsCompletedSuccessfully;
}
