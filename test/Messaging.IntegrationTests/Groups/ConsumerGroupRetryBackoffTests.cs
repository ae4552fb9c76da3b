using Messaging.IntegrationTests.Consumer;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A consumer's requests to its group coordinator are retried after its <see cref="KafkaConsumerOptions.RetryBackoff"/>, on its clock.</summary>
public sealed class ConsumerGroupRetryBackoffTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task A_commit_retried_waits_the_configured_retry_backoff_also_when_it_is_longer_than_a_second()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.CommitsLoading = true; // every attempt is refused as retriable
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = ConsumerTestSupport.ManualCommitGroupOptions(broker.BootstrapServers);
        options.TimeProvider = time;
        options.RetryBackoff = TimeSpan.FromSeconds(4); // at least 3.2 s with the jitter
        await using var consumer = new KafkaConsumer(options);

        var commit = consumer.CommitAsync([new TopicPartitionCommit(new TopicPartition("events", 0), 5)], ct).AsTask();
        await Until.TrueAsync(() => broker.Commits.Count == 1, Deadline, "the first attempt at the coordinator", ct);

        var waited = TimeSpan.Zero;
        while (broker.Commits.Count < 2 && waited < TimeSpan.FromSeconds(10))
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            waited += TimeSpan.FromMilliseconds(100);
            await Task.Delay(10, ct); // lets the commit's loop run before the clock moves again
        }

        Assert.True(broker.Commits.Count >= 2, "No second attempt within 10 s of the consumer's clock.");
        Assert.True(waited >= TimeSpan.FromSeconds(3), "The second attempt came " + waited.TotalMilliseconds + " ms after the first (retry backoff 4 s).");

        // The next attempt is refused for good, which ends the commit.
        broker.PushErrors(ApiKey.OffsetCommit, ErrorCode.GroupAuthorizationFailed);
        for (var i = 0; i < 100 && !commit.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(10, ct);
        }

        var failure = await Assert.ThrowsAsync<KafkaCommitException>(() => commit);
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, failure.Code);
    }
}
