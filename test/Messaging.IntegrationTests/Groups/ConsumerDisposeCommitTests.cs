using Messaging.IntegrationTests.Consumer;

namespace Messaging.IntegrationTests.Groups;

/// <summary>Commits still out or queued when the consumer is disposed end, with an error, instead of waiting for ever.</summary>
public sealed class ConsumerDisposeCommitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task Commits_out_and_queued_at_dispose_end_with_an_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.OffsetsUnanswered = true; // the first commit stays out; the others queue behind it
        var options = ConsumerTestSupport.ManualCommitGroupOptions(broker.BootstrapServers);
        options.RequestTimeout = TimeSpan.FromMinutes(5);
        var consumer = new KafkaConsumer(options);
        var partition = new TopicPartition("events", 0);
        var first = consumer.CommitAsync([new TopicPartitionCommit(partition, 5)], ct).AsTask();
        await Until.TrueAsync(() => !broker.Commits.IsEmpty, Deadline, "the first commit at the coordinator", ct);
        var queued = new[]
        {
            consumer.CommitAsync([new TopicPartitionCommit(partition, 6)], ct).AsTask(),
            consumer.CommitAsync([new TopicPartitionCommit(partition, 7)], ct).AsTask(),
        };

        await consumer.DisposeAsync();

        Task[] commits = [first, .. queued];
        await Until.TrueAsync(() => commits.All(c => c.IsCompleted), Deadline, "every commit out or queued at the dispose to end", ct);
        foreach (var commit in commits)
        {
            _ = await Assert.ThrowsAsync<ObjectDisposedException>(() => commit);
        }
    }
}
