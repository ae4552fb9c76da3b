using Messaging.Rpc.Tests.Support;

namespace Messaging.Rpc.Tests.Client;

/// <summary>The topic lookup before a topic's first use: one shared lookup, and only a topic found to exist is remembered.</summary>
public sealed class KnownTopicsTests
{
    private readonly ManualTimeProvider _time = new();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_topic_found_missing_is_looked_up_again_on_the_next_call_and_found_once_created(bool lookupCompletesAtOnce)
    {
        var ct = TestContext.Current.CancellationToken;
        var lookups = 0;
        var created = false;
        var topics = new KnownTopics(topic =>
        {
            lookups++;
            var outcome = created ? Task.CompletedTask : Task.FromException(Missing(topic));
            return lookupCompletesAtOnce ? outcome : Task.Run(() => outcome, ct);
        }, _time);

        var error = await Assert.ThrowsAsync<RpcException>(() => topics.EnsureAsync("requests", "echo", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct).AsTask());
        Assert.Equal(RpcStatus.Unavailable, error.Status);

        // The topic is created: the next call looks again instead of failing on the remembered lookup.
        created = true;
        await topics.EnsureAsync("requests", "echo", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, lookups);

        // Found: remembered, no more lookups.
        await topics.EnsureAsync("requests", "echo", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, lookups);
    }

    [Fact]
    public async Task A_servers_reply_topic_lookup_names_the_server_and_the_reply_topic_in_its_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        var closed = new KnownTopics(_ => Task.FromException(new ObjectDisposedException(nameof(KafkaAdminClient))), _time, server: true);
        var missing = new KnownTopics(topic => Task.FromException(Missing(topic)), _time, server: true);

        var disposed = await Assert.ThrowsAsync<RpcException>(() => closed.EnsureAsync("replies", "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct).AsTask());
        var absent = await Assert.ThrowsAsync<RpcException>(() => missing.EnsureAsync("replies", "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct).AsTask());

        Assert.Contains("the RPC server was disposed", disposed.Message, StringComparison.Ordinal);
        Assert.Equal(nameof(RpcServer), Assert.IsType<ObjectDisposedException>(disposed.InnerException).ObjectName);
        Assert.Contains("the reply topic does not exist", absent.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_servers_known_reply_topics_stay_bounded_and_a_forgotten_one_is_looked_up_again_and_replied_to()
    {
        var ct = TestContext.Current.CancellationToken;
        var (topics, lookups) = CountingLookups(capacity: 8);

        // Per-instance reply topics: every client that comes and goes brings a new one.
        for (var i = 0; i < 500; i++)
        {
            await topics.EnsureAsync("replies-" + i, "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
            Assert.InRange(topics.Count, 1, 8);
        }

        // The first one was forgotten long ago: its next reply looks it up again, and goes out.
        await topics.EnsureAsync("replies-0", "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, lookups["replies-0"]);
        await topics.EnsureAsync("replies-0", "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, lookups["replies-0"]);
    }

    [Fact]
    public async Task A_topic_in_use_is_not_forgotten_while_new_topics_come_and_go()
    {
        var ct = TestContext.Current.CancellationToken;
        var (topics, lookups) = CountingLookups(capacity: 8);
        for (var i = 0; i < 9; i++)
        {
            await topics.EnsureAsync("old-" + i, "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
        }

        for (var i = 0; i < 500; i++)
        {
            await topics.EnsureAsync("busy", "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
            await topics.EnsureAsync("replies-" + i, "reply", _time.GetTimestamp(), TimeSpan.FromSeconds(30), ct);
            Assert.InRange(topics.Count, 1, 8);
        }

        Assert.Equal(1, lookups["busy"]);
    }

    [Fact]
    public void A_warm_topic_stays_warm_and_the_warm_topics_stay_bounded()
    {
        var topics = new KnownTopics(_ => Task.CompletedTask, _time, capacity: 8);
        for (var i = 0; i < 500; i++)
        {
            topics.MarkWarm("busy");
            topics.MarkWarm("requests-" + i);
            Assert.InRange(topics.Count, 1, 8);
        }

        Assert.True(topics.IsWarm("busy"));
        Assert.True(topics.IsWarm("requests-499"));
        Assert.False(topics.IsWarm("requests-0"));
    }

    /// <summary>Reply topics that all exist, with how often each was looked up.</summary>
    private (KnownTopics Topics, Dictionary<string, int> Lookups) CountingLookups(int capacity)
    {
        var lookups = new Dictionary<string, int>(StringComparer.Ordinal);
        var topics = new KnownTopics(topic =>
        {
            lookups[topic] = lookups.GetValueOrDefault(topic) + 1;
            return Task.CompletedTask;
        }, _time, server: true, capacity);
        return (topics, lookups);
    }

    private static KafkaAdminException Missing(string topic) =>
        new("Describing topics failed.", new Dictionary<string, KafkaException>(StringComparer.Ordinal)
        {
            [topic] = new KafkaErrorException(ErrorCode.UnknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION: " + topic),
        });
}
