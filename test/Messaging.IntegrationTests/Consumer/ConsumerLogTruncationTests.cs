using Messaging.Records;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// Log truncation detection (KIP-320) against a broker that checks the LastFetchedEpoch of each Fetch
/// (<see cref="FakeFetchBroker"/>): an unclean leader election drops records the application already read.
/// </summary>
public sealed class ConsumerLogTruncationTests
{
    private const string Topic = "truncated";

    [Fact(Timeout = 60_000)]
    public async Task Records_lost_to_an_unclean_election_are_read_again_from_the_new_leaders_log()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = Broker();
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers));
        await ReadThenTruncateAsync(fake, consumer, ct);

        // Offsets 6-9 the application read are gone; the new leader wrote 6-11 in epoch 5. Read on from 10, the
        // consumer would skip 6-9 of the new log.
        var again = await ConsumerTestSupport.ReadAsync(consumer, 6, TimeSpan.FromSeconds(10), ct);
        Assert.Equal([6L, 7, 8, 9, 10, 11], again.Select(r => r.Offset));
        Assert.All(again, r => Assert.Equal("n" + r.Offset, System.Text.Encoding.UTF8.GetString(r.Value!)));
        Assert.All(again, r => Assert.Equal(5, r.LeaderEpoch));
    }

    [Fact(Timeout = 60_000)]
    public async Task With_auto_offset_reset_error_a_truncation_past_consumed_records_is_a_log_truncation_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = Broker();
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers, o => o.AutoOffsetReset = AutoOffsetReset.Error));
        await ReadThenTruncateAsync(fake, consumer, ct);

        var error = await Assert.ThrowsAsync<ConsumeException>(() => ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromSeconds(10), ct));
        Assert.Equal(ConsumeErrorKind.LogTruncation, error.Kind);
        Assert.Equal(new TopicPartition(Topic, 0), error.TopicPartition);
        Assert.Equal(10, error.Offset);
        Assert.Equal(6, error.DivergingOffset); // where the new leader's log goes on: nothing of it skipped from there
        Assert.Equal(10, consumer.Position(new TopicPartition(Topic, 0)));

        consumer.Seek(new TopicPartition(Topic, 0), 6);
        Assert.Equal([6L, 7], (await ConsumerTestSupport.ReadAsync(consumer, 2, TimeSpan.FromSeconds(10), ct)).Select(r => r.Offset));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_commit_of_the_consumed_position_carries_the_leader_epoch_of_the_last_record_consumed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = Broker();
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers, o =>
        {
            o.GroupId = "commits-epochs";
            o.EnableAutoCommit = false;
        }));
        consumer.Assign(ConsumerTestSupport.All(Topic, 1, OffsetSpec.Earliest));
        Assert.Equal(10, (await ConsumerTestSupport.ReadAsync(consumer, 10, TimeSpan.FromSeconds(10), ct)).Count);
        await consumer.CommitAsync(ct);
        Assert.Equal((10L, 3), LastCommit(fake));

        // A new leader's records (epoch 5): a member starting from this commit checks it against epoch 5 (KIP-320).
        fake.Append(Topic, 0, Batch(10, 2, 5, "n"));
        Assert.Equal(2, (await ConsumerTestSupport.ReadAsync(consumer, 2, TimeSpan.FromSeconds(10), ct)).Count);
        await consumer.CommitAsync(ct);
        Assert.Equal((12L, 5), LastCommit(fake));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_position_moved_back_to_where_the_log_diverges_is_committed_with_the_epoch_of_that_offset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = Broker();
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers, o =>
        {
            o.GroupId = "truncation-epochs";
            o.EnableAutoCommit = false;
        }));
        await ReadThenTruncateAsync(fake, consumer, ct);

        // The fetcher moves the position back to 6 before anything more is consumed; a commit made now must carry the
        // epoch the leader named for that offset (3: epoch 3's log ends at 6), as the Java client keeps it, not -1.
        var partition = new TopicPartition(Topic, 0);
        await Eventually.TrueAsync(() => consumer.Position(partition) == 6, TimeSpan.FromSeconds(10), "the position moved back to where the log diverges", ct);
        await consumer.CommitAsync(ct);
        Assert.Equal((6L, 3), LastCommit(fake));
    }

    private static (long Offset, int LeaderEpoch) LastCommit(FakeFetchBroker fake)
    {
        var partition = fake.Commits.Last().Topics.Single().Partitions.Single();
        return (partition.CommittedOffset, partition.CommittedLeaderEpoch);
    }

    /// <summary>A broker whose log holds 0-9 in leader epoch 3.</summary>
    private static FakeFetchBroker Broker()
    {
        var fake = FakeFetchBroker.Start();
        fake.CreateTopic(Topic, 1);
        fake.Append(Topic, 0, Batch(0, 6, 3, "v"));
        fake.Append(Topic, 0, Batch(6, 4, 3, "v"));
        return fake;
    }

    /// <summary>The consumer reads 0-9; then the log loses 6-9 and gets 6-11 in epoch 5 (a new leader without them).</summary>
    private static async Task ReadThenTruncateAsync(FakeFetchBroker fake, KafkaConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
    {
        consumer.Assign(ConsumerTestSupport.All(Topic, 1, OffsetSpec.Earliest));
        Assert.Equal(10, (await ConsumerTestSupport.ReadAsync(consumer, 10, TimeSpan.FromSeconds(10), cancellationToken)).Count);
        fake.Truncate(Topic, 0, 6);
        fake.Append(Topic, 0, Batch(6, 6, 5, "n"));
    }

    private static byte[] Batch(int first, int count, int leaderEpoch, string prefix)
    {
        using var builder = new RecordBatchBuilder { PartitionLeaderEpoch = leaderEpoch };
        for (int i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + first + i, default, System.Text.Encoding.UTF8.GetBytes(prefix + (first + i)));
        }

        return builder.Build().ToArray();
    }
}
