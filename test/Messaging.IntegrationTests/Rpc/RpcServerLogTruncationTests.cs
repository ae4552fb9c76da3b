using System.Collections.Concurrent;
using System.Text;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Records;
using Messaging.Rpc;

namespace Messaging.IntegrationTests.Rpc;

/// <summary>
/// An RPC server whose request partition's log is not where its position is — truncated by an unclean leader election,
/// or behind the group's commit — with the consumer's reset policy at error (KIP-848 group, <see cref="FakeFetchBroker"/>
/// checking each Fetch's offset and LastFetchedEpoch).
/// </summary>
public sealed class RpcServerLogTruncationTests
{
    private const string Topic = "requests";
    private const string Method = "Echo";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 60_000)]
    public async Task Requests_the_new_leader_wrote_from_the_divergence_are_handled_and_the_other_partitions_are_served_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        fake.CreateTopic(Topic, 2);
        fake.Append(Topic, 0, Batch(0, 6, 3, "v"));
        fake.Append(Topic, 0, Batch(6, 4, 3, "v"));
        fake.Append(Topic, 1, Batch(0, 2, 3, "p"));
        fake.SetCommitted(Topic, 0, 0);
        fake.SetCommitted(Topic, 1, 0);
        var handled = new ConcurrentQueue<(int Partition, long Offset, string Value)>();
        await using var server = Server(fake, handled);
        await server.StartAsync(ct);
        await Eventually.TrueAsync(() => handled.Count == 12, Deadline, "the server handled the twelve requests before the truncation", ct);
        await Eventually.TrueAsync(() => Committed(fake, 0) == 10, Deadline, "partition 0 committed at 10", ct);

        // A new leader without 6-9 wrote other requests there (epoch 5): they are requests nobody handled yet.
        fake.Truncate(Topic, 0, 6);
        fake.Append(Topic, 0, Batch(6, 6, 5, "n"));
        await Eventually.TrueAsync(() => server.Statistics.ConsumeErrors >= 1, Deadline, "the truncation reached the server", ct);
        fake.Append(Topic, 1, Batch(2, 2, 3, "p"));

        string[] expected = ["n6", "n7", "n8", "n9", "n10", "n11", "p2", "p3"];
        var all = await UntilAsync(() => expected.All(v => handled.Any(h => h.Value == v)), ct);
        Assert.True(all, "the new leader's requests 6-11 and partition 1's 2-3 handled within " + Deadline.TotalSeconds + " s; handled: " +
            string.Join(",", handled.Select(h => h.Value)));
        Assert.All(handled.Where(h => h.Value.StartsWith('n')), h => Assert.Equal("n" + h.Offset, h.Value));
        Assert.Equal(16, handled.Count(h => h.Partition == 0)); // 0-9, then the new 6-11: each once
        await Eventually.TrueAsync(() => Committed(fake, 0) == 12, Deadline, "partition 0 committed at the new leader's end, 12", ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_committed_offset_past_the_log_end_starts_the_partition_at_its_first_request_and_the_other_partitions_are_served_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        fake.CreateTopic(Topic, 2);

        // The group committed 20 for partition 0 (no leader epoch); the log now ends at 4 (the topic made anew, say).
        fake.SetCommitted(Topic, 0, 20);
        fake.SetCommitted(Topic, 1, 0);
        fake.Append(Topic, 0, Batch(0, 4, 0, "r"));
        fake.Append(Topic, 1, Batch(0, 2, 0, "p"));
        var handled = new ConcurrentQueue<(int Partition, long Offset, string Value)>();
        await using var server = Server(fake, handled);
        await server.StartAsync(ct);

        string[] expected = ["r0", "r1", "r2", "r3", "p0", "p1"];
        var all = await UntilAsync(() => expected.All(v => handled.Any(h => h.Value == v)), ct);
        Assert.True(all, "partition 0's requests 0-3 and partition 1's 0-1 handled within " + Deadline.TotalSeconds + " s; handled: " +
            string.Join(",", handled.Select(h => h.Value)) + "; consume errors: " + server.Statistics.ConsumeErrors);
        await Eventually.TrueAsync(() => Committed(fake, 0) == 4, Deadline, "partition 0 committed at its log end, 4", ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_log_cut_below_the_position_without_leader_epochs_is_read_again_from_its_start()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        fake.CreateTopic(Topic, 1);
        fake.SetCommitted(Topic, 0, 0);
        fake.Append(Topic, 0, Batch(0, 10, -1, "v")); // no leader epoch: the cut below goes undetected as a divergence
        var handled = new ConcurrentQueue<(int Partition, long Offset, string Value)>();
        await using var server = Server(fake, handled);
        await server.StartAsync(ct);
        await Eventually.TrueAsync(() => handled.Count == 10, Deadline, "the server handled the ten requests before the cut", ct);
        await Eventually.TrueAsync(() => Committed(fake, 0) == 10, Deadline, "partition 0 committed at 10", ct);

        // The log now holds other requests, 0-2: the position, 10, is past its end.
        fake.Truncate(Topic, 0, 0);
        fake.Append(Topic, 0, Batch(0, 3, -1, "n"));

        string[] expected = ["n0", "n1", "n2"];
        var all = await UntilAsync(() => expected.All(v => handled.Any(h => h.Value == v)), ct);
        Assert.True(all, "the new requests 0-2 handled within " + Deadline.TotalSeconds + " s; handled: " + string.Join(",", handled.Select(h => h.Value)) +
            "; consume errors: " + server.Statistics.ConsumeErrors);
        await Eventually.TrueAsync(() => Committed(fake, 0) == 3, Deadline, "partition 0 committed back at the log's end, 3", ct);
    }

    private static RpcServer Server(FakeFetchBroker fake, ConcurrentQueue<(int Partition, long Offset, string Value)> handled)
    {
        var server = new RpcServer(new RpcServerOptions
        {
            BootstrapServers = fake.BootstrapServers,
            ClientId = "truncated-server",
            RequestTopics = [Topic],
            GroupId = "truncated-group",
            CommitInterval = TimeSpan.FromMilliseconds(50),
            DrainTimeout = TimeSpan.FromSeconds(2),
            Producer = new KafkaProducerOptions { EnableIdempotence = false, CloseTimeout = TimeSpan.FromSeconds(1) },
            Consumer = new KafkaConsumerOptions
            {
                GroupProtocol = GroupProtocol.Consumer,
                AutoOffsetReset = AutoOffsetReset.Error,
                FetchMaxWait = TimeSpan.FromMilliseconds(10),
            },
        });
        server.MapRaw(Method, (payload, context) =>
        {
            handled.Enqueue((context.TopicPartition.Partition, context.Offset, Encoding.UTF8.GetString(payload.Span)));
            return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
        });
        return server;
    }

    /// <summary>Whether <paramref name="condition"/> came to hold within <see cref="Deadline"/> (the caller's assertion then says what it saw).</summary>
    private static async Task<bool> UntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > Deadline)
            {
                return false;
            }

            await Task.Delay(5, cancellationToken);
        }

        return true;
    }

    private static long Committed(FakeFetchBroker fake, int partition) =>
        fake.Commits.SelectMany(c => c.Topics).SelectMany(t => t.Partitions).Where(p => p.PartitionIndex == partition)
            .Select(p => p.CommittedOffset).DefaultIfEmpty(-1).Last();

    private static byte[] Batch(int first, int count, int leaderEpoch, string prefix)
    {
        RecordHeader[] headers = [new("messaging_rpc_method", Encoding.UTF8.GetBytes(Method))];
        using var builder = new RecordBatchBuilder { PartitionLeaderEpoch = leaderEpoch };
        for (int i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + first + i, default, Encoding.UTF8.GetBytes(prefix + (first + i)), headers);
        }

        return builder.Build().ToArray();
    }
}
