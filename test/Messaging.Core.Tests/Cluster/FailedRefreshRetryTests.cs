using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Core.Tests.Support;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// A refresh that fails (every broker unreachable, a request timed out, a broker still starting up) is tried again
/// after the refresh backoff until one succeeds, as the Java client retries its metadata: one asked for without
/// waiting (after a lost broker) or the periodic one may have nobody who asks again, and the metadata would then stay
/// stale until metadata.max.age.ms passed once more.
/// </summary>
public sealed class FailedRefreshRetryTests
{
    private static readonly MetadataResponse Known = new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 1,
        Topics = [],
    };

    private static readonly MetadataResponse Starting = new() { Brokers = [], ControllerId = -1, Topics = [] };

    [Fact(Timeout = 20_000)]
    public async Task A_failed_refresh_nobody_waits_for_is_tried_again_after_the_backoff()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { OnMetadata = (_, n) => n == 2 ? Starting : Known };
        await using var cluster = new ClusterClient(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            TimeProvider = time,
            MetadataMaxAge = TimeSpan.FromMinutes(10),
        });
        await cluster.Metadata.RefreshAsync(ct);

        // Asked for without waiting (as after a lost broker); the answer names no brokers, so it fails.
        cluster.Metadata.RequestRefresh();
        await FakeClockSteps.AdvanceUntilAsync(time, () => cluster.Metadata.RequestsSent >= 2, TimeSpan.FromSeconds(10), "the requested refresh", ct);

        // Well inside metadata.max.age.ms, with nobody asking again: the refresh is retried after its backoff.
        await FakeClockSteps.AdvanceUntilAsync(time, () => cluster.Metadata.RequestsSent >= 3, TimeSpan.FromMinutes(1), "a retry of the failed refresh", ct);
    }
}
