using System.Diagnostics;
using Messaging.Groups;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A custom assignor that throws where the member calls it: the error reaches the application at a consume call and
/// the member goes on, never stalling silently.
/// </summary>
public sealed class CustomAssignorFailureTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Theory(Timeout = 120_000)]
    [InlineData(nameof(IConsumerPartitionAssignor.GetSubscriptionUserData), false)]
    [InlineData(nameof(IConsumerPartitionAssignor.Assign), false)]
    [InlineData(nameof(IConsumerPartitionAssignor.Assign), true)]
    public async Task An_assignor_method_that_throws_surfaces_at_a_consume_call_and_the_member_joins_once_it_stops(string failing, bool cancellation)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 120, 20, cancellationToken: ct);
        var assignor = new FailsTwiceAssignor(failing, cancellation);
        var options = SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup(), assignor: FailsTwiceAssignor.AssignorName,
            configure: o => o.CustomPartitionAssignors.Add(() => assignor));
        var consumer = ConsumerTestSupport.Bytes(options);
        consumer.Subscribe([Topic]);

        var errors = new List<KafkaGroupException>();
        var records = 0;
        var reading = Stopwatch.StartNew();
        while (records < 120)
        {
            Assert.True(reading.Elapsed < Deadline, "every record read within " + Deadline + " (read " + records + ", errors " + errors.Count + ", joins " + consumer.Consumer.Group!.ClassicMember!.JoinRequests + ", state " + consumer.Consumer.Group!.ClassicMember!.State + ")");
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                using var batch = await consumer.ConsumeBatchAsync(wait.Token);
                records += batch.Count;
            }
            catch (KafkaGroupException ex)
            {
                errors.Add(ex);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // No record within the wait: ask again (the deadline above ends it).
            }
        }

        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Contains("'" + FailsTwiceAssignor.AssignorName + "' threw from " + failing, e.Message, StringComparison.Ordinal));
        Assert.True(assignor.Calls >= 3, failing + " called " + assignor.Calls + " times");

        var disposing = Stopwatch.StartNew();
        await consumer.DisposeAsync();
        Assert.True(disposing.Elapsed < TimeSpan.FromSeconds(15), "disposing took " + disposing.Elapsed);
    }

    /// <summary>
    /// A round-robin assignor whose method <c>failing</c> throws the first two times it is called: an
    /// <see cref="InvalidOperationException"/>, or with <c>cancellation</c> an <see cref="OperationCanceledException"/>
    /// (a call of its own that timed out).
    /// </summary>
    private sealed class FailsTwiceAssignor(string failing, bool cancellation) : IConsumerPartitionAssignor
    {
        public const string AssignorName = "fails-twice";
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public string Name => AssignorName;

        public IReadOnlyList<RebalanceProtocol> SupportedProtocols { get; } = [RebalanceProtocol.Eager];

        public ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics)
        {
            FailTwice(nameof(GetSubscriptionUserData));
            return null;
        }

        public IReadOnlyDictionary<string, ConsumerAssignment> Assign(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions)
        {
            FailTwice(nameof(Assign));
            var members = subscriptions.Keys.Order(StringComparer.Ordinal).ToList();
            var given = members.ToDictionary(m => m, _ => new List<TopicPartition>(), StringComparer.Ordinal);
            for (var p = 0; p < cluster.GetPartitionCount(Topic); p++)
            {
                given[members[p % members.Count]].Add(new TopicPartition(Topic, p));
            }

            return given.ToDictionary(kv => kv.Key, kv => new ConsumerAssignment(kv.Value), StringComparer.Ordinal);
        }

        public void OnAssignment(ConsumerAssignment assignment, int generationId)
        {
        }

        private void FailTwice(string method)
        {
            if (method == failing && Interlocked.Increment(ref _calls) <= 2)
            {
                throw cancellation ? new OperationCanceledException("the assignor's own call timed out") : new InvalidOperationException("the assignor's state is not ready");
            }
        }
    }
}
