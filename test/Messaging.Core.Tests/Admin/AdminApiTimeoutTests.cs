using System.Diagnostics;
using Messaging.Core.Tests.Connection;

namespace Messaging.Core.Tests.Admin;

/// <summary>
/// An admin call ends at <see cref="KafkaAdminOptions.DefaultApiTimeout"/> even while a request is unanswered: a
/// broker that never answers does not hold the call for the (longer) request timeout, nor does a retry backoff longer
/// than what is left of it.
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

    [Theory(Timeout = 20_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_retry_backoff_longer_than_the_api_timeout_ends_the_call_at_the_api_timeout(bool neverRetry)
    {
        // RetryBackoff = TimeSpan.MaxValue: "never retry", as retry.backoff.ms = Long.MAX_VALUE may say.
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { RefuseConnects = 1 }; // the first attempt fails retriably
        await using var admin = Admin(broker, neverRetry ? TimeSpan.MaxValue : TimeSpan.FromHours(1));
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<KafkaException>(() => admin.DescribeClusterAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct));

        Assert.True(watch.Elapsed < RequestTimeout / 3, "the call took " + watch.Elapsed + ": " + error.Message);
        Assert.True(error.IsRetriable, error.ToString());
    }

    [Fact(Timeout = 20_000)]
    public async Task Listing_offsets_of_a_partition_without_a_leader_under_a_retry_backoff_of_TimeSpan_MaxValue_fails_with_the_lookups_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker
        {
            OnMetadata = (_, _) => new()
            {
                Brokers = ListOffsetsMetadataTests.Answer.Brokers,
                ClusterId = "in-memory",
                ControllerId = 1,
                Topics = [new() { Name = "orders", TopicId = Guid.NewGuid(), Partitions = [new() { PartitionIndex = 0, LeaderId = -1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [] }] }],
            },
        };
        await using var admin = Admin(broker, TimeSpan.MaxValue);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.ListOffsetsAsync([new(new TopicPartition("orders", 0), OffsetSpec.Latest)], cancellationToken: ct).WaitAsync(TimeSpan.FromSeconds(10), ct));

        Assert.True(watch.Elapsed < RequestTimeout / 3, "the call took " + watch.Elapsed + ": " + error.Message);
    }

    private static KafkaAdminClient Admin(InMemoryBroker broker, TimeSpan? retryBackoff = null) => new(new KafkaAdminOptions
    {
        BootstrapServers = "broker1.test:9092",
        TransportFactory = broker,
        DefaultApiTimeout = ApiTimeout,
        RequestTimeout = RequestTimeout,
        RetryBackoff = retryBackoff ?? new KafkaAdminOptions().RetryBackoff,
    });
}
