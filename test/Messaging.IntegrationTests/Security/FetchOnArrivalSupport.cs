using Messaging.IntegrationTests.Support;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>What the tests of <see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/> share: raw Fetches held by the proxy, and the broker's request counts.</summary>
internal static class FetchOnArrivalSupport
{
    /// <summary>A fetch wait far longer than <see cref="AnswerWithin"/>: an answer that waited it out fails the test.</summary>
    public const int LongWaitMs = 60_000;

    public static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(15);

    /// <summary>Sends a Fetch of partition 0 from offset 0 on a new connection and returns once the broker looked at the log for it (the proxy holds it unless records were there).</summary>
    public static async Task<(RawFetchConnection Connection, Task<FetchResponse> Fetch)> HoldFetchAsync(
        EmbeddedKafkaCluster cluster, KafkaProxy proxy, string topic, int maxWaitMs, int minBytes, CancellationToken ct)
    {
        cluster.StartRequestTracking();
        var connection = await RawFetchConnection.OpenAsync(proxy, ct);
        var fetch = connection.FetchAsync(topic, offset: 0, maxWaitMs, minBytes, ct);
        await Eventually.TrueAsync(() => BrokerRequests(cluster, ApiKey.Fetch) >= 1, AnswerWithin, "the broker never saw the Fetch", ct);
        return (connection, fetch);
    }

    /// <summary>How many requests of <paramref name="api"/> the broker has seen since its request tracking started.</summary>
    public static int BrokerRequests(EmbeddedKafkaCluster cluster, ApiKey api)
    {
        var count = 0;
        foreach (var request in cluster.GetTrackedRequests())
        {
            count += request.ApiKey == api ? 1 : 0;
        }

        return count;
    }
}
