using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Records of a revoked partition are never handed out once its revocation callback has run, under frequent
/// rebalances with records arriving all the time (so every partition has data fetched and buffered when it moves).
/// </summary>
public sealed class RevocationStressTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private const int Rounds = 4;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    [Theory(Timeout = 150_000)]
    [MemberData(nameof(AtLeastOnceTests.Protocols), MemberType = typeof(AtLeastOnceTests))]
    public async Task No_record_of_a_revoked_partition_is_handed_out_after_its_callback_while_members_come_and_go(GroupProtocol protocol, string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        var logs = new RecordingLoggerFactory();
        KafkaConsumerOptions Options() => SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, assignor, o => o.LoggerFactory = logs);
        var readers = new List<GroupReader>();
        try
        {
            var a = new GroupReader("a", Options(), [Topic]);
            readers.Add(a);
            var b = new GroupReader("b", Options(), [Topic]);
            readers.Add(b);
            await GroupReader.WaitAsync(() => SubscribeTests.Splits(a, b), Deadline, "a and b splitting the partitions", ct, a, b);
            await using var producer = new SteadyProducer(cluster.BootstrapServers, Topic, Partitions, TimeSpan.FromMilliseconds(10));

            // Each round a member joins, reads, and leaves: two rebalances a round, each moving partitions whose
            // fetched records are still buffered.
            for (var round = 0; round < Rounds; round++)
            {
                var guest = new GroupReader("guest-" + round, Options(), [Topic]);
                readers.Add(guest);
                var seen = guest.Seen.Count;
                await GroupReader.WaitAsync(() => guest.Owned.Count > 0 && guest.Seen.Count > seen + 50, Deadline, "round " + round + ": the guest reading its share", ct, a, b, guest);
                try
                {
                    await guest.DisposeAsync().AsTask().WaitAsync(Deadline, ct);
                }
                catch (TimeoutException)
                {
                    Assert.Fail("round " + round + ": the guest's dispose hung" + Environment.NewLine + string.Join(Environment.NewLine, new[] { a, b, guest }.Select(r => r.Describe()))
                        + Environment.NewLine + string.Join(Environment.NewLine, logs.Events.TakeLast(60).Select(e => e.Category + " " + e.Message)));
                }
                var delivered = (a.Seen.Count, b.Seen.Count);
                await GroupReader.WaitAsync(() => SubscribeTests.Splits(a, b) && a.Seen.Count > delivered.Item1 + 50 && b.Seen.Count > delivered.Item2 + 50, Deadline, "round " + round + ": a and b owning everything again and reading", ct, a, b, guest);
            }

            var stopping = producer.StopAsync();
            Assert.True(await Task.WhenAny(stopping, Task.Delay(Deadline, CancellationToken.None)) == stopping, "the producer's stop hung");
        }
        finally
        {
            foreach (var reader in readers)
            {
                var disposing = reader.DisposeAsync().AsTask();
                if (await Task.WhenAny(disposing, Task.Delay(Deadline, CancellationToken.None)) != disposing)
                {
                    Assert.Fail(reader.Name + "'s dispose hung" + Environment.NewLine + string.Join(Environment.NewLine, readers.Select(r => r.Describe()))
                        + Environment.NewLine + string.Join(Environment.NewLine, logs.Events.TakeLast(80).Select(e => e.Category + " " + e.Message)));
                }
            }
        }

        Assert.All(readers, r => Assert.Null(r.Failure));
        Assert.All(readers, r => Assert.True(r.DeliveredAfterRevocation == 0, r.Name + " was handed " + r.DeliveredAfterRevocation + " records of partitions revoked before the consume call"));
        Assert.True(readers.Sum(r => r.Count("revoked")) >= 2 * Rounds, "partitions moved in every round: " + string.Join(", ", readers.Select(r => r.Name + " " + string.Join("/", r.Events))));
    }
}
