using System.Text.RegularExpressions;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A consumer's automatic commits against a coordinator that keeps refusing them: the group's background loop goes on
/// with its other duties meanwhile.
/// </summary>
public sealed class AutoCommitBackgroundTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task A_pattern_is_matched_again_while_an_automatic_commit_is_still_retrying_an_unavailable_coordinator()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 1);
        var partition = new TopicPartition("events", 0);
        var consumer = new KafkaConsumer(ClassicFakeCoordinatorTests.HeldPartitionsOptions(broker.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], o =>
        {
            o.EnableAutoCommit = true;
            o.EnableAutoOffsetStore = false; // only the offset stored below is committed
            o.AutoCommitInterval = TimeSpan.FromMilliseconds(50);
            o.MetadataMaxAge = TimeSpan.FromMilliseconds(200);
            o.DefaultApiTimeout = TimeSpan.FromMinutes(5); // the commit retries far past the test
        }));
        try
        {
            consumer.Subscribe(new Regex("^events.*"));
            await Until.TrueAsync(() => consumer.Assignment.Count == 1, Deadline, "events-0 assigned", ct);

            broker.CommitsLoading = true;
            consumer.StoreOffset(partition, 5);
            await Until.TrueAsync(() => broker.Commits.Count >= 2, Deadline, "the automatic commit retried at the loading coordinator", ct);

            broker.SetPartitions("events.eu", 1);
            await Until.TrueAsync(() => consumer.Subscription.Contains("events.eu"), Deadline,
                "the pattern matched again (events.eu) while the automatic commit was still retrying", ct);
        }
        finally
        {
            broker.CommitsLoading = false;
            await consumer.DisposeAsync();
        }
    }
}
