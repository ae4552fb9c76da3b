using System.Diagnostics;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Producer;

/// <summary>
/// A seeded random fault schedule — leader moves, brokers down and up, injected retriable Produce errors, a round
/// trip longer than the request timeout — while a service produces several thousand records: every record is
/// delivered, once, in order per partition, and the last one is acknowledged seconds after the faults heal.
/// </summary>
/// <remarks>
/// The seed is printed with every failure (and on success), and <c>MESSAGING_FAULT_SEED</c> replays one schedule.
/// Partitions are never made leaderless here: librdkafka's mock crashes the process when a partition a client
/// produces to loses its leader (the leaderless case is covered, safely, in <see cref="ProducerRecoveryTests"/>).
/// </remarks>
public sealed class ProducerFaultScheduleTests
{
    private const int Partitions = 12;
    private const int Records = 4000;
    private static readonly TimeSpan ScheduleLength = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(8);
    private static readonly ErrorCode[] RetriableErrors =
        [ErrorCode.NotLeaderOrFollower, ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas, ErrorCode.NetworkException, ErrorCode.LeaderNotAvailable];

    [Fact(Timeout = 180_000)]
    public async Task Every_record_survives_a_random_fault_schedule_exactly_once_in_order_and_recovers_within_seconds()
    {
        var ct = TestContext.Current.CancellationToken;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("MESSAGING_FAULT_SEED"), out var fixedSeed) ? fixedSeed : Random.Shared.Next();
        var schedule = new List<string>();
        try
        {
            await RunAsync(seed, schedule, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"fault schedule seed {seed} (replay with MESSAGING_FAULT_SEED={seed}); schedule: {string.Join(", ", schedule)}{Environment.NewLine}{ex.Message}", ex);
        }
    }

    private static async Task RunAsync(int seed, List<string> schedule, CancellationToken ct)
    {
        var random = new Random(seed);
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = ProducerRecoveryTests.CreateTopic(cluster, "schedule");
        var log = new CollectingLogger();
        await using var producer = new KafkaProducer(ProducerRecoveryTests.ProductionOptions(cluster.BootstrapServers, log));

        var outcomes = new Task<ProducerRecoveryTests.Outcome>[Records];
        var down = new HashSet<int>();
        var started = Stopwatch.GetTimestamp();
        var nextFault = TimeSpan.Zero;
        var rttUntil = TimeSpan.MaxValue;
        var rttBroker = 0;
        var produced = 0;
        while (produced < Records)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed >= rttUntil)
            {
                cluster.SetBrokerRoundTripDelay(rttBroker, TimeSpan.Zero);
                schedule.Add($"{elapsed.TotalMilliseconds:F0}ms rtt{rttBroker}=0");
                rttUntil = TimeSpan.MaxValue;
            }

            if (elapsed >= nextFault && elapsed < ScheduleLength)
            {
                schedule.Add($"{elapsed.TotalMilliseconds:F0}ms " + InjectFault(random, cluster, topic, down, ref rttBroker, ref rttUntil, elapsed));
                nextFault = elapsed + TimeSpan.FromMilliseconds(random.Next(80, 220));
            }

            // About 1,300 records a second, keyed over the partitions.
            var due = Math.Min(Records, (int)(elapsed.TotalSeconds * Records / ScheduleLength.TotalSeconds) + 1);
            for (; produced < due; produced++)
            {
                var key = System.Text.Encoding.UTF8.GetBytes("key-" + (produced % 48));
                outcomes[produced] = ProducerRecoveryTests.Track(producer.ProduceAsync(topic, key, SequencedPayload.Create(produced, 48), cancellationToken: ct));
            }

            await Task.Delay(5, ct);
        }

        // Heal everything.
        foreach (var broker in down)
        {
            cluster.SetBrokerUp(broker);
        }

        if (rttUntil != TimeSpan.MaxValue)
        {
            cluster.SetBrokerRoundTripDelay(rttBroker, TimeSpan.Zero);
        }

        var healedAt = Stopwatch.GetTimestamp();
        schedule.Add($"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0}ms healed");
        var results = await Task.WhenAll(outcomes).WaitAsync(TimeSpan.FromSeconds(90), ct);
        var failed = results.Where(o => o.Error is not null).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {Records} records failed, e.g. {failed.FirstOrDefault()?.Error?.Message}{Environment.NewLine}{producer.Core.DescribeState()}");
        var lastAck = results.Max(o => o.DoneTicks);
        var recovery = lastAck > healedAt ? Stopwatch.GetElapsedTime(healedAt, lastAck) : TimeSpan.Zero;
        var latencies = results.Select(o => Stopwatch.GetElapsedTime(o.CalledTicks, o.DoneTicks).TotalMilliseconds).Order().ToArray();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"seed {seed}: {schedule.Count} schedule steps; last acknowledgement {recovery.TotalMilliseconds:F0} ms after the faults healed; " +
            $"ack latency p50 {latencies[latencies.Length / 2]:F0} ms, p99 {latencies[latencies.Length * 99 / 100]:F0} ms, max {latencies[^1]:F0} ms");
        Assert.True(recovery < RecoveryBound, $"the last record was acknowledged {recovery.TotalMilliseconds:F0} ms after the faults healed (bound {RecoveryBound.TotalSeconds} s)");

        var audit = await IdempotentLogAudit.ReadAsync(cluster.BootstrapServers, topic, Partitions, Records, ct);
        var missing = audit.FirstNotExactlyOnce();
        Assert.True(missing < 0, $"record {missing} is in the log {(missing < 0 ? 1 : audit.Seen[missing])} times (after dropping broker-rejected duplicates)");
    }

    private static string InjectFault(Random random, EmbeddedKafkaCluster cluster, string topic, HashSet<int> down, ref int rttBroker, ref TimeSpan rttUntil, TimeSpan now)
    {
        switch (random.Next(5))
        {
            case 0:
            {
                var partition = random.Next(Partitions);
                var leader = random.Next(1, 4);
                cluster.SetPartitionLeader(topic, partition, leader);
                return $"leader {partition}->{leader}";
            }

            case 1 when down.Count == 0:
            {
                var broker = random.Next(1, 4);
                cluster.SetBrokerDown(broker);
                down.Add(broker);
                return $"down {broker}";
            }

            case 1:
            {
                var broker = down.First();
                cluster.SetBrokerUp(broker);
                down.Remove(broker);
                return $"up {broker}";
            }

            case 2:
            case 3:
            {
                var count = random.Next(1, 4);
                var errors = new ErrorCode[count];
                for (var i = 0; i < count; i++)
                {
                    errors[i] = RetriableErrors[random.Next(RetriableErrors.Length)];
                }

                cluster.PushRequestErrors(ApiKey.Produce, errors);
                return "errors " + string.Join("+", errors);
            }

            default:
            {
                if (rttUntil != TimeSpan.MaxValue)
                {
                    return "rtt burst running";
                }

                // A round trip longer than the request timeout (2 s): requests time out and their connection closes.
                rttBroker = random.Next(1, 4);
                cluster.SetBrokerRoundTripDelay(rttBroker, TimeSpan.FromMilliseconds(2500));
                rttUntil = now + TimeSpan.FromMilliseconds(random.Next(300, 800));
                return $"rtt{rttBroker}=2500ms";
            }
        }
    }
}
