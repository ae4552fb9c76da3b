using System.Buffers.Binary;
using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// Metadata goes to the least-loaded broker (the Java client's least-loaded node): of the open connections, the one
/// with the fewest requests in flight, not whichever comes first. The broker answers a connection in order, so a
/// refresh sent behind a busy connection's requests (a Fetch waiting out its max wait, a slow Produce) waits for them.
/// </summary>
public sealed class LeastLoadedMetadataTests
{
    private static MetadataResponse Answer() => new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }, new() { NodeId = 2, Host = "broker2.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 1,
        Topics = [],
    };

    [Fact(Timeout = 10_000)]
    public async Task A_refresh_goes_to_the_open_connection_with_the_fewest_requests_in_flight()
    {
        var ct = TestContext.Current.CancellationToken;
        var holding = false;
        var broker = new InMemoryBroker
        {
            OnMetadata = (_, _) => Answer(),
            Hold = key => Volatile.Read(ref holding) && key is ApiKey.Metadata or ApiKey.ListOffsets,
        };
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        await cluster.Metadata.RefreshAsync(ct);
        var busy = await cluster.Connections.GetAsync(1, ct);
        var idle = await cluster.Connections.GetAsync(2, ct);

        // Broker 1's connection has a request in flight; broker 2's has none.
        Volatile.Write(ref holding, true);
        var inFlight = busy.SendAsync(new ListOffsetsRequest { ReplicaId = -1, Topics = [] }, 6, TimeSpan.FromSeconds(30), ct).AsTask();
        Assert.Equal(1, busy.PendingCount);

        var refresh = cluster.Metadata.RefreshAsync(ct);
        Func<InMemoryBroker.Transport, bool> holdsMetadata = t => t.Held.Any(frame => (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame) == ApiKey.Metadata);
        while (!broker.Opened.Any(holdsMetadata))
        {
            await Task.Delay(5, ct); // bounded by the test's timeout: the refresh's Metadata request being written
        }

        var asked = broker.Opened.Single(holdsMetadata);
        Assert.True(asked.Host == "broker2.test" && idle.PendingCount == 1, "the refresh went to " + asked.Host + ", behind a request in flight there; broker 2's connection was idle");

        foreach (var transport in broker.Opened)
        {
            while (!transport.Held.IsEmpty)
            {
                transport.AnswerHeld();
            }
        }

        await refresh;
        (await inFlight).Dispose();
    }
}
