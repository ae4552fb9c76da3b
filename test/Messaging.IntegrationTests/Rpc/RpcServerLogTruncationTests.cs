using System.Collections.Concurrent;
using System.Text;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Records;
using Messaging.Rpc;

namespace Messaging.IntegrationTests.Rpc;

/// <summary>
/// An RPC server whose request partition's log is truncated by an unclean leader election, with the consumer's reset
/// policy at error (KIP-848 group, <see cref="FakeFetchBroker"/> checking each Fetch's LastFetchedEpoch).
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
        var handled = new ConcurrentQueue<(int Partition, long Offset, string Value)>();
        await using var server = new RpcServer(new RpcServerOptions
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
