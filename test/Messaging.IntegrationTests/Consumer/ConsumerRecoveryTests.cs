using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Messaging.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;
using TopicPartition = Messaging.TopicPartition;
using TopicPartitionOffset = Messaging.TopicPartitionOffset;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// Recovery on the 3-broker cluster: after the broker leading a partition restarts, after its leadership moves, and
/// after it had no leader at all, fetching resumes within seconds — measured from the moment the leader is reachable
/// (or from the record's acknowledgement, whichever is later) to the record's delivery — with every record read once,
/// in order.
/// </summary>
/// <remarks>
/// The embedded broker crashes the process when a partition a client already uses is made leaderless, so the
/// leaderless case uses a fresh topic made leaderless before any client has seen it.
/// </remarks>
public sealed class ConsumerRecoveryTests(TestBrokerFixture fixture)
{
    private const int Partitions = 3;
    private const int Rounds = 3;
    private const int PerPartition = 40;

    /// <summary>
    /// While a partition's leader is unknown (leaderless, or its broker missing from the metadata while down) the
    /// consumer asks for metadata again and again, spaced by the refresher's backoff, which grows to
    /// <see cref="Messaging.Cluster.MetadataRefresher.MaxRefreshInterval"/> while nothing changes: the leader can be back
    /// just after one refresh and be seen only at the next. Then a reconnect (at most the reconnect backoff) and a
    /// Fetch, plus slack for a loaded machine.
    /// </summary>
    private static readonly TimeSpan RecoveryBound =
        Messaging.Cluster.MetadataRefresher.MaxRefreshInterval + new KafkaConsumerOptions().ReconnectBackoffMax + TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Outage = TimeSpan.FromMilliseconds(1_500);

    [Fact(Timeout = 120_000)]
    public async Task Fetching_resumes_within_seconds_after_the_leaders_broker_restarts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await Consuming.StartAsync(fixture, "restart", ct);
        var (broker, faults, topic, consumer, reader, produced) = (run.Broker, run.Broker.Faults!, run.Topic, run.Consumer, run.Reader, run.Produced);

        var recoveries = new List<TimeSpan>();
        var partition1 = new TopicPartition(topic, 1);
        for (int round = 0; round < Rounds; round++)
        {
            // Records wait in partition 1 (led by broker 2) while the consumer has it paused; broker 2 goes down and
            // the consumer resumes the partition, so it fetches from a dead broker for the whole outage. Recovery is
            // from the broker coming back to the first waiting record read: the consumer's part alone.
            consumer.Pause([partition1]);
            var waiting = await ProduceAsync(broker.BootstrapServers, topic, [1], produced, ct);
            faults.SetBrokerDown(2);
            var downAt = Stopwatch.GetTimestamp();
            consumer.Resume([partition1]);

            // Meanwhile the partitions of the other brokers keep flowing.
            await ProduceAsync(broker.BootstrapServers, topic, [0, 2], produced, ct);
            await reader.WaitForAsync(produced, [0, 2], Outage, ct);
            await DelayUntilAsync(downAt, Outage, ct);
            Assert.Equal(produced.Of(1).Count - PerPartition, reader.Count(1)); // nothing of partition 1 while its leader was down

            faults.SetBrokerUp(2);
            var upAt = Stopwatch.GetTimestamp();
            await reader.WaitForAsync(produced, [0, 1, 2], RecoveryBound + TimeSpan.FromSeconds(10), ct);
            recoveries.Add(reader.Recovery(waiting[1], upAt));

            // And records produced after the restart follow.
            await ProduceAsync(broker.BootstrapServers, topic, [1, 0, 2], produced, ct);
            await reader.WaitForAsync(produced, [0, 1, 2], TimeSpan.FromSeconds(10), ct);
        }

        AssertRecovered("broker restart", recoveries);
        await reader.AssertExactlyAsync(produced, ct);
        Assert.True(consumer.Fetcher.FailedFetches > 0, "the restarts failed fetches");
    }

    [Fact(Timeout = 120_000)]
    public async Task Fetching_follows_a_leader_move_within_seconds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var run = await Consuming.StartAsync(fixture, "move", ct);
        var (broker, faults, topic, consumer, reader, produced) = (run.Broker, run.Broker.Faults!, run.Topic, run.Consumer, run.Reader, run.Produced);

        var recoveries = new List<TimeSpan>();
        int leader = 2;
        for (int round = 0; round < Rounds; round++)
        {
            // The consumer is long-polling partition 1 on its leader when leadership moves to the next broker.
            leader = leader % 3 + 1;
            faults.SetPartitionLeader(topic, 1, leader);
            var movedAt = Stopwatch.GetTimestamp();
            var first = await ProduceAsync(broker.BootstrapServers, topic, [1, 0, 2], produced, ct);
            await reader.WaitForAsync(produced, [0, 1, 2], RecoveryBound + TimeSpan.FromSeconds(10), ct);
            recoveries.Add(reader.Recovery(first[1], movedAt));
        }

        AssertRecovered("leader move", recoveries);
        await reader.AssertExactlyAsync(produced, ct);
        Assert.True(consumer.Fetcher.LeaderErrors > 0, "the moves were seen as leadership errors");
    }

    [Fact(Timeout = 120_000)]
    public async Task Fetching_a_partition_leaderless_at_start_begins_within_seconds_of_it_getting_a_leader()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var recoveries = new List<TimeSpan>();
        var startLookups = new List<TimeSpan>();
        for (int round = 0; round < Rounds; round++)
        {
            var topic = TestBrokerFixture.UniqueTopicName("leaderless");
            await broker.CreateTopicAsync(topic, 1, 3, ct);
            faults.SetPartitionLeader(topic, 0, -1); // before any client has seen the partition

            var produced = new Produced(1);
            await using var consumer = ConsumerTestSupport.Bytes(Options(broker.BootstrapServers));
            consumer.Assign([new TopicPartitionOffset(topic, 0, OffsetSpec.Earliest)]);
            await using var reader = Reader.Start(consumer, ct);
            var since = Stopwatch.GetTimestamp();
            await DelayUntilAsync(since, Outage, ct); // the consumer asks metadata for a leader meanwhile
            Assert.Null(consumer.Position(new TopicPartition(topic, 0))); // no leader: its start cannot have been looked up

            faults.SetPartitionLeader(topic, 0, round % 3 + 1);
            var ledAt = Stopwatch.GetTimestamp();
            var started = WaitForPositionAsync(consumer, new TopicPartition(topic, 0), ct); // the start offset looked up on the new leader
            var first = await ProduceAsync(broker.BootstrapServers, topic, [0], produced, ct);
            startLookups.Add(Stopwatch.GetElapsedTime(ledAt, await started));
            await reader.WaitForAsync(produced, [0], RecoveryBound + TimeSpan.FromSeconds(10), ct);
            recoveries.Add(reader.Recovery(first[0], ledAt));
            await reader.AssertExactlyAsync(produced, ct);
        }

        AssertRecovered("leaderless at start (start offset looked up)", startLookups);
        AssertRecovered("leaderless at start (first record read)", recoveries);
    }

    /// <summary>The test options, with the client's default backoffs: recovery is measured as a user would see it.</summary>
    private static KafkaConsumerOptions Options(string bootstrap)
    {
        var defaults = new KafkaConsumerOptions();
        return ConsumerTestSupport.Options(bootstrap, o =>
        {
            o.RetryBackoff = defaults.RetryBackoff;
            o.ReconnectBackoff = defaults.ReconnectBackoff;
            o.ReconnectBackoffMax = defaults.ReconnectBackoffMax;
        });
    }

    /// <summary>Reports the recovery times (median, max, each) to the test output, then checks each against the bound.</summary>
    private static void AssertRecovered(string scenario, List<TimeSpan> recoveries)
    {
        var sorted = recoveries.Order().ToList();
        string all = string.Join(", ", recoveries.Select(Ms));
        TestContext.Current.TestOutputHelper?.WriteLine(
            "consumer recovery after " + scenario + ": median " + Ms(sorted[sorted.Count / 2]) + ", max " + Ms(sorted[^1]) + " (" + all + ")");
        foreach (var recovery in recoveries)
        {
            Assert.True(recovery <= RecoveryBound, scenario + ": recovery took " + Ms(recovery) + " (bound " + Ms(RecoveryBound) + "); all: " + all);
        }
    }

    private static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms";

    /// <summary>Waits until the partition's position is known; returns the <see cref="Stopwatch"/> timestamp it was first seen.</summary>
    private static async Task<long> WaitForPositionAsync(KafkaConsumer<byte[]?, byte[]?> consumer, TopicPartition partition, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (consumer.Position(partition) is null)
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < RecoveryBound + TimeSpan.FromSeconds(10), "the start offset of " + partition + " was never looked up");
            await Task.Delay(1, cancellationToken);
        }

        return Stopwatch.GetTimestamp();
    }

    private static async Task DelayUntilAsync(long since, TimeSpan duration, CancellationToken cancellationToken)
    {
        var left = duration - Stopwatch.GetElapsedTime(since);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, cancellationToken); // the length of a fault, not a wait for a condition
        }
    }

    /// <summary>
    /// Produces <see cref="PerPartition"/> records to each of <paramref name="partitions"/> with a fresh producer (so
    /// no producer-side recovery is measured), one at a time per partition so the offsets are known in order; returns
    /// the first record of each partition.
    /// </summary>
    private static async Task<Dictionary<int, Sent>> ProduceAsync(string bootstrap, string topic, int[] partitions, Produced produced, CancellationToken cancellationToken)
    {
        using var producer = ConfluentClients.Producer(bootstrap, c => c.LingerMs = 0);
        var first = new Dictionary<int, Sent>();
        foreach (var partition in partitions)
        {
            for (int i = 0; i < PerPartition; i++)
            {
                var value = produced.Next(partition);
                var result = await producer.ProduceAsync(new Confluent.Kafka.TopicPartition(topic, partition), new Message<byte[], byte[]> { Value = value }, cancellationToken);
                var sent = new Sent(result.Offset.Value, value, Stopwatch.GetTimestamp());
                produced.Acked(partition, sent);
                first.TryAdd(partition, sent);
            }
        }

        return first;
    }

    /// <summary>
    /// A 3-broker cluster with a topic of <see cref="Partitions"/> partitions (partition p led by broker p + 1), a
    /// consumer reading all of them from the start in the background, and a first round of records read.
    /// </summary>
    private sealed class Consuming : IAsyncDisposable
    {
        private Consuming(ITestBroker broker, string topic, KafkaConsumer<byte[]?, byte[]?> consumer)
        {
            Broker = broker;
            Topic = topic;
            Consumer = consumer;
        }

        public ITestBroker Broker { get; }

        public string Topic { get; }

        public KafkaConsumer<byte[]?, byte[]?> Consumer { get; }

        public Reader Reader { get; private set; } = null!;

        public Produced Produced { get; } = new(Partitions);

        public static async Task<Consuming> StartAsync(TestBrokerFixture fixture, string name, CancellationToken cancellationToken)
        {
            var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: cancellationToken);
            var topic = TestBrokerFixture.UniqueTopicName(name);
            var run = new Consuming(broker, topic, ConsumerTestSupport.Bytes(Options(broker.BootstrapServers)));
            try
            {
                await broker.CreateTopicAsync(topic, Partitions, 3, cancellationToken);
                for (int p = 0; p < Partitions; p++)
                {
                    broker.Faults!.SetPartitionLeader(topic, p, p + 1);
                }

                run.Consumer.Assign(ConsumerTestSupport.All(topic, Partitions, OffsetSpec.Earliest));
                run.Reader = Reader.Start(run.Consumer, cancellationToken);
                await ProduceAsync(broker.BootstrapServers, topic, [0, 1, 2], run.Produced, cancellationToken);
                await run.Reader.WaitForAsync(run.Produced, [0, 1, 2], TimeSpan.FromSeconds(20), cancellationToken);
                return run;
            }
            catch
            {
                await run.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Reader is not null)
            {
                await Reader.DisposeAsync();
            }

            await Consumer.DisposeAsync();
            await Broker.DisposeAsync();
        }
    }

    private readonly record struct Sent(long Offset, byte[] Value, long AckedAt);

    /// <summary>What was produced, by partition, in offset order.</summary>
    private sealed class Produced(int partitions)
    {
        private readonly List<Sent>[] _acked = Enumerable.Range(0, partitions).Select(_ => new List<Sent>()).ToArray();
        private int _sequence;

        public int Partitions => _acked.Length;

        public byte[] Next(int partition) => SequencedPayload.Create(_sequence++, 48 + partition);

        public void Acked(int partition, Sent sent) => _acked[partition].Add(sent);

        public IReadOnlyList<Sent> Of(int partition) => _acked[partition];
    }

    /// <summary>Consumes the typed stream in the background, recording when each record arrived.</summary>
    private sealed class Reader : IAsyncDisposable
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<int, List<(long Offset, byte[] Value, long At)>> _read = [];
        private readonly CancellationTokenSource _stop;
        private Task _loop = Task.CompletedTask;

        private Reader(CancellationToken cancellationToken)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        }

        public static Reader Start(KafkaConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
        {
            var reader = new Reader(cancellationToken);
            reader._loop = Task.Run(() => reader.ReadAsync(consumer), CancellationToken.None);
            return reader;
        }

        /// <summary>Waits until every produced record was read (fails at the deadline, or if the loop died).</summary>
        public async Task WaitForAsync(Produced produced, int[] partitions, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            while (!HasAll(produced, partitions))
            {
                if (_loop.IsFaulted)
                {
                    await _loop; // its exception
                }

                Assert.True(Stopwatch.GetElapsedTime(started) < timeout, "not every record was read within " + Ms(timeout) + ": " + Describe(produced));
                await Task.Delay(5, cancellationToken);
            }
        }

        /// <summary>How long after <paramref name="since"/> (or after the record's acknowledgement, if later) the record was read.</summary>
        public TimeSpan Recovery(Sent record, long since)
        {
            lock (_lock)
            {
                foreach (var (_, read) in _read)
                {
                    foreach (var (offset, value, at) in read)
                    {
                        if (offset == record.Offset && value.AsSpan().SequenceEqual(record.Value))
                        {
                            return Stopwatch.GetElapsedTime(Math.Max(since, record.AckedAt), at);
                        }
                    }
                }
            }

            throw new InvalidOperationException("record at offset " + record.Offset + " was not read");
        }

        /// <summary>Every produced record was read exactly once, in order, and nothing else arrives.</summary>
        public async Task AssertExactlyAsync(Produced produced, CancellationToken cancellationToken)
        {
            var quiet = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(quiet) < TimeSpan.FromMilliseconds(300))
            {
                await Task.Delay(20, cancellationToken); // room for a late duplicate to show up
            }

            lock (_lock)
            {
                for (int p = 0; p < produced.Partitions; p++)
                {
                    var expected = produced.Of(p);
                    var read = _read.TryGetValue(p, out var list) ? list : [];
                    Assert.Equal(expected.Select(s => s.Offset), read.Select(r => r.Offset));
                    for (int i = 0; i < expected.Count; i++)
                    {
                        Assert.Equal(expected[i].Value, read[i].Value);
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }

        private async Task ReadAsync(KafkaConsumer<byte[]?, byte[]?> consumer)
        {
            try
            {
                await foreach (var record in consumer.ConsumeAsync(_stop.Token))
                {
                    long at = Stopwatch.GetTimestamp();
                    lock (_lock)
                    {
                        if (!_read.TryGetValue(record.Partition, out var list))
                        {
                            _read[record.Partition] = list = [];
                        }

                        list.Add((record.Offset, record.Value!, at));
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }

        public int Count(int partition)
        {
            lock (_lock)
            {
                return _read.TryGetValue(partition, out var list) ? list.Count : 0;
            }
        }

        private bool HasAll(Produced produced, int[] partitions)
        {
            lock (_lock)
            {
                foreach (int p in partitions)
                {
                    int read = _read.TryGetValue(p, out var list) ? list.Count : 0;
                    if (read < produced.Of(p).Count)
                    {
                        return false;
                    }
                }
            }

            return true;
        }

        private string Describe(Produced produced)
        {
            lock (_lock)
            {
                return string.Join(", ", Enumerable.Range(0, produced.Partitions).Select(p =>
                    "partition " + p + " read " + (_read.TryGetValue(p, out var list) ? list.Count : 0) + " of " + produced.Of(p).Count));
            }
        }
    }
}
