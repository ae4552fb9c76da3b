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

    private static KafkaAdminException Missing(string topic) =>
        new("Describing topics failed.", new Dictionary<string, KafkaException>(StringComparer.Ordinal)
        {
            [topic] = new KafkaErrorException(ErrorCode.UnknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION: " + topic),
        });
}
