using System.Diagnostics;
using Messaging.Core.Tests.Connection;

namespace Messaging.Core.Tests.Admin;

/// <summary>
/// An admin call ends at <see cref="KafkaAdminOptions.DefaultApiTimeout"/> even while a request is unanswered: a
/// broker that never answers does not hold the call for the (longer) request timeout.
/// </summary>
public sealed class AdminApiTimeoutTests
{
    private static readonly TimeSpan ApiTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    [Theory(Timeout = 20_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_metadata_call_on_a_broker_that_does_not_answer_fails_at_the_api_timeout_not_the_request_timeout(bool describeCluster)
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { Hold = apiKey => apiKey == ApiKey.Metadata };
        await using var admin = Admin(broker);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<KafkaTimeoutException>(async () =>
        {
            if (describeCluster)
            {
                await admin.DescribeClusterAsync(ct);
            }
            else
            {
                await admin.DescribeTopicsAsync(["orders"], ct);
            }
        });

        Assert.True(watch.Elapsed < RequestTimeout / 3, "the call took " + watch.Elapsed + ": " + error.Message);
        Assert.Equal(ApiKey.Metadata, error.ApiKey);
    }

    [Fact(Timeout = 20_000)]
    public async Task Listing_offsets_on_a_leader_that_does_not_answer_fails_at_the_api_timeout_not_the_request_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { OnMetadata = (_, _) => ListOffsetsMetadataTests.Answer, Hold = apiKey => apiKey == ApiKey.ListOffsets };
        await using var admin = Admin(broker);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<KafkaTimeoutException>(() => admin.ListOffsetsAsync([new(new TopicPartition("orders", 0), OffsetSpec.Latest)], cancellationToken: ct));

        Assert.True(watch.Elapsed < RequestTimeout / 3, "the call took " + watch.Elapsed + ": " + error.Message);
        Assert.Equal(ApiKey.ListOffsets, error.ApiKey);
    }

    private static KafkaAdminClient Admin(InMemoryBroker broker) => new(new KafkaAdminOptions
    {
        BootstrapServers = "broker1.test:9092",
        TransportFactory = broker,
        DefaultApiTimeout = ApiTimeout,
        RequestTimeout = RequestTimeout,
    });
}
