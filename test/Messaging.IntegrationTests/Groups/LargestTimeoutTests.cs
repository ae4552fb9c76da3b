using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A request timeout of TimeSpan.MaxValue ("no limit", as a configuration may say) works everywhere the clients add it
/// to another wait or hand it to a timer: producing, fetching, joining and syncing a group, committing and leaving.
/// </summary>
public sealed class LargestTimeoutTests
{
    private const string Topic = "events";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Theory(Timeout = 120_000)]
    [InlineData(GroupProtocol.Classic)]
    [InlineData(GroupProtocol.Consumer)]
    public async Task A_request_timeout_of_TimeSpan_MaxValue_produces_joins_reads_commits_and_leaves(GroupProtocol protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        await using (var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            RequestTimeout = TimeSpan.MaxValue,
            DeliveryTimeout = TimeSpan.MaxValue,
        }))
        {
            for (var i = 0; i < 24; i++)
            {
                await producer.ProduceAsync(Topic, null, System.Text.Encoding.UTF8.GetBytes("v" + i), cancellationToken: ct);
            }
        }

        var options = SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, protocol == GroupProtocol.Classic ? "range" : "",
            o => o.RequestTimeout = TimeSpan.MaxValue);
        var first = new GroupReader("first", options, [Topic]);
        await Eventually.TrueAsync(() => first.Seen.Count >= 24, Deadline, "the member reading all 24 records", ct);
        await first.DisposeAsync(); // commits and leaves the group
        Assert.Null(first.Failure);

        // The commit made at the leave holds: a new member starts after it.
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await producer.ProduceAsync(Topic, null, "after"u8.ToArray(), cancellationToken: ct);
        }

        await using var second = new GroupReader("second", SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol,
            protocol == GroupProtocol.Classic ? "range" : "", o => o.RequestTimeout = TimeSpan.MaxValue), [Topic]);
        await Eventually.TrueAsync(() => !second.Seen.IsEmpty, Deadline, "the second member reading the record produced after the commit", ct);
        Assert.Single(second.Seen);
        Assert.Null(second.Failure);
    }
}
