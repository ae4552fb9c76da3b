using Messaging.IntegrationTests.Consumer;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A consumer's commits and committed-offset reads end at its <see cref="KafkaConsumerOptions.DefaultApiTimeout"/>
/// (<c>default.api.timeout.ms</c>), on the consumer's clock, while the coordinator does not answer.
/// </summary>
public sealed class ConsumerApiTimeoutTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ApiTimeout = TimeSpan.FromSeconds(5);

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_commit_or_offset_read_the_coordinator_never_answers_ends_at_the_configured_api_timeout(bool committed)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.OffsetsUnanswered = true;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = ConsumerTestSupport.ManualCommitGroupOptions(broker.BootstrapServers);
        options.TimeProvider = time;
        options.DefaultApiTimeout = ApiTimeout;
        options.RequestTimeout = TimeSpan.FromSeconds(30); // longer: the api timeout ends the call, not the request
        await using var consumer = new KafkaConsumer(options);
        var partition = new TopicPartition("events", 0);

        var call = committed
            ? consumer.CommittedAsync([partition], ct).AsTask()
            : consumer.CommitAsync([new TopicPartitionCommit(partition, 5)], ct).AsTask();
        await Until.TrueAsync(() => committed ? broker.OffsetFetches > 0 : !broker.Commits.IsEmpty, Deadline, "the request at the coordinator", ct);

        time.Advance(ApiTimeout - TimeSpan.FromSeconds(1));
        Assert.False(call.IsCompleted, "The call ended before its api timeout.");
        time.Advance(TimeSpan.FromSeconds(2));
        await Until.TrueAsync(() => call.IsCompleted, Deadline, "the call to end once the api timeout passed on the consumer's clock", ct);

        var failure = await Assert.ThrowsAnyAsync<KafkaException>(() => call);
        Assert.True(failure.IsRetriable, failure.ToString());
        Assert.Contains("5000 ms", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_api_timeout_of_TimeSpan_MaxValue_commits_and_reads_committed_offsets()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        var options = ConsumerTestSupport.ManualCommitGroupOptions(broker.BootstrapServers);
        options.DefaultApiTimeout = TimeSpan.MaxValue;
        await using var consumer = new KafkaConsumer(options);
        var partition = new TopicPartition("events", 0);

        await consumer.CommitAsync([new TopicPartitionCommit(partition, 5)], ct);
        var read = await consumer.CommittedAsync([partition], ct);

        Assert.Equal(partition, Assert.Single(read).TopicPartition);
    }
}
