using System.Collections.Concurrent;

namespace Messaging.IntegrationTests.Groups;

/// <summary>Errors a consumer group meets in the background reach the application in the order they happened, none replacing another.</summary>
public sealed class PendingGroupErrorTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task Listener_failures_of_rebalances_between_two_consume_calls_are_each_thrown_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 1);
        broker.SetPartitions("audit", 1);
        var listener = new FailingListener();
        await using var consumer = new KafkaConsumer(ClassicFakeCoordinatorTests.HeldPartitionsOptions(broker.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8]));

        // Three failures before the application asks for records: the first assignment's, then a rebalance's (the
        // eager protocol revokes events-0 and assigns both topics).
        consumer.Subscribe(["events"], listener);
        await Until.TrueAsync(() => listener.Failures.Count == 1, Deadline, "the first assignment's callback failed", ct);
        consumer.Subscribe(["events", "audit"], listener);
        await Until.TrueAsync(() => listener.Failures.Count == 3 && consumer.Assignment.Count == 2, Deadline, "the rebalance's revocation and assignment callbacks failed", ct);

        foreach (var expected in listener.Failures.ToArray())
        {
            var thrown = await Assert.ThrowsAsync<KafkaGroupException>(() => consumer.ConsumeBatchAsync(ct).AsTask().WaitAsync(Deadline, ct));
            Assert.Same(expected, thrown.InnerException);
        }
    }

    /// <summary>Throws from every callback that gets partitions, a new exception each time, recorded in order.</summary>
    private sealed class FailingListener : IConsumerRebalanceListener
    {
        public ConcurrentQueue<Exception> Failures { get; } = new();

        public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
            Fail(nameof(OnPartitionsAssignedAsync), partitions);

        public ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
            Fail(nameof(OnPartitionsRevokedAsync), partitions);

        public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
            Fail(nameof(OnPartitionsLostAsync), partitions);

        private ValueTask Fail(string name, IReadOnlyCollection<TopicPartition> partitions)
        {
            if (partitions.Count == 0)
            {
                return ValueTask.CompletedTask;
            }

            var failure = new InvalidOperationException("listener failure " + (Failures.Count + 1) + " in " + name);
            Failures.Enqueue(failure);
            throw failure;
        }
    }
}
