using System.Text;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Producer;

/// <summary>
/// 100,000 idempotent records through 3 brokers while leaders move, a broker goes down and comes back, and Produce
/// requests fail with injected errors: afterwards every record is in the log once, in per-partition order.
/// </summary>
/// <remarks>
/// <para><b>What the embedded broker does not do.</b> librdkafka's mock checks producer ids, epochs and sequence
/// numbers only for transactional producers (<c>rd_kafka_mock_validate_records</c> in <c>rdkafka_mock.c</c> returns
/// at once when the request has no transactional id). For an idempotent producer it therefore writes every batch
/// it is sent: it never answers DUPLICATE_SEQUENCE_NUMBER for a retry of a batch it already wrote (say the broker
/// wrote it and then went down before the response left), and never answers OUT_OF_ORDER_SEQUENCE_NUMBER for a
/// batch that arrives while an earlier one of the same partition is being retried (which happens as soon as more
/// than one request is in flight and one of them fails). A Kafka broker rejects both; the mock writes both.</para>
/// <para>So the test checks the log the way a Kafka broker would have left it: it reads every batch with its
/// producer id, epoch and base sequence (<see cref="RawLog"/>), drops the copies a Kafka broker would have
/// rejected as duplicates (same producer id, epoch, base sequence and count as a batch written before), and then
/// requires every record exactly once; per partition and epoch, batches in base-sequence order hold the records in
/// production order (the order a broker enforcing sequences would have written them in); and with one request in
/// flight — where no later batch can overtake a failed one — the log itself is in production order with no
/// sequence gaps. With five in flight the mock writes batches that follow a gap (a Kafka broker would answer
/// OUT_OF_ORDER_SEQUENCE_NUMBER and the client would retry them in order), so offset order is not asserted there;
/// how often the mock wrote a duplicate or a batch after a gap is printed, so a reader can see it happen.</para>
/// </remarks>
public sealed class ProducerFaultTests(TestBrokerFixture fixture)
{
    private const int Records = 100_000;
    private const int Partitions = 6;
    private const int Chunks = 40;

    [Theory(Timeout = 300_000)]
    [InlineData(1)]
    [InlineData(5)]
    public async Task A_hundred_thousand_idempotent_records_survive_leader_moves_a_broker_restart_and_injected_errors_exactly_once_in_order(int maxInFlight)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("faults");
        await broker.CreateTopicAsync(topic, Partitions, 3, ct);
        for (var p = 0; p < Partitions; p++)
        {
            faults.SetPartitionLeader(topic, p, (p % 3) + 1);
        }

        var log = new CollectingLogger();
        var options = new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            ClientId = "fault-test",
            EnableIdempotence = true,
            MaxInFlightRequestsPerConnection = maxInFlight,
            BatchSize = 4096, // many small batches: many requests in flight when the faults hit
            Linger = TimeSpan.FromMilliseconds(2),
            RequestTimeout = TimeSpan.FromSeconds(5),
            DeliveryTimeout = TimeSpan.FromSeconds(120),
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            RetryBackoffMax = TimeSpan.FromMilliseconds(200),
            ReconnectBackoff = TimeSpan.FromMilliseconds(20),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
            LoggerFactory = log,
        };

        var outcomes = new int[Records]; // 1 delivered, 2 failed
        var failures = new List<string>();
        var offsets = new long[Records];
        var partitions = new int[Records];
        await using (var producer = new KafkaProducer(options))
        {
            var perChunk = Records / Chunks;
            for (var chunk = 0; chunk < Chunks; chunk++)
            {
                InjectFault(chunk, faults, topic);
                for (var i = chunk * perChunk; i < (chunk + 1) * perChunk; i++)
                {
                    producer.Produce(topic, Encoding.UTF8.GetBytes("key-" + (i % 60)), SequencedPayload.Create(i, 16), static (in Messaging.DeliveryResult r, ProduceException? e, object? s) =>
                    {
                        var (state, sequence) = ((FaultState, int))s!;
                        if (e is null)
                        {
                            state.Outcomes[sequence] = 1;
                            state.Offsets[sequence] = r.Offset;
                            state.Partitions[sequence] = r.Partition;
                        }
                        else
                        {
                            state.Outcomes[sequence] = 2;
                            lock (state.Failures)
                            {
                                state.Failures.Add(sequence + ": " + e.Message);
                            }
                        }
                    }, (new FaultState(outcomes, offsets, partitions, failures), i));
                }

                await Task.Delay(15, ct); // spread the records over time, so the faults land mid-stream
            }

            faults.SetBrokerUp(2); // in case the schedule left it down
            await producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(180), ct);
            Assert.True(failures.Count == 0, failures.Count + " records failed, e.g. " + string.Join("; ", failures.Take(5)) + Environment.NewLine + log);
            Assert.All(outcomes, o => Assert.Equal(1, o));
        }

        var audit = await IdempotentLogAudit.ReadAsync(broker.BootstrapServers, topic, Partitions, Records, ct);
        if (maxInFlight == 1)
        {
            // With one request in flight no later batch can overtake a failed one: the log itself is in production order.
            Assert.True(audit.Inversions.Sum() == 0 && audit.OutOfSequenceBatches == 0,
                $"with one request in flight every record is in offset order ({audit.Inversions.Sum()} inversions, {audit.OutOfSequenceBatches} batches out of sequence)");
        }

        var missing = audit.FirstNotExactlyOnce();
        Assert.True(missing < 0, $"record {missing} is in the log {(missing < 0 ? 1 : audit.Seen[missing])} times (after dropping broker-rejected duplicates)");
        var duplicateBatches = audit.DuplicateBatches;
        var outOfSequenceBatches = audit.OutOfSequenceBatches;
        var inversions = audit.Inversions.Sum();

        // The faults did hit: batches were retried, the injected sequence gap bumped the epoch, brokers were unreachable.
        var retries = log.Lines.Count(l => l.Contains("Retrying", StringComparison.Ordinal));
        var bumps = log.Lines.Count(l => l.Contains("bumped its epoch", StringComparison.Ordinal));
        var unreachable = log.Lines.Count(l => l.Contains("cannot connect", StringComparison.Ordinal) || l.Contains("Could not connect", StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"max in flight {maxInFlight}: the mock wrote {duplicateBatches} duplicate batch(es) and {outOfSequenceBatches} batch(es) after a sequence gap, which a Kafka broker would have rejected ({inversions} records out of offset order); " +
            $"{retries} retries, {bumps} epoch bump(s), {unreachable} failed connection attempts.");
        Assert.True(retries > 0 && bumps > 0, log.ToString());
    }

    private static void InjectFault(int chunk, IKafkaFaultInjector faults, string topic)
    {
        switch (chunk)
        {
            case 3:
                faults.SetPartitionLeader(topic, 0, 2);
                faults.SetPartitionLeader(topic, 1, 3);
                break;
            case 6:
                faults.PushRequestErrors(ApiKey.Produce, ErrorCode.NotLeaderOrFollower, ErrorCode.RequestTimedOut, ErrorCode.NetworkException);
                break;
            case 9:
                faults.SetBrokerDown(2);
                break;
            case 14:
                faults.SetBrokerUp(2);
                break;
            case 18:
                faults.PushBrokerRequestErrors(1, ApiKey.Produce, ErrorCode.RequestTimedOut, ErrorCode.NotLeaderOrFollower);
                faults.SetPartitionLeader(topic, 2, 1);
                break;
            case 22:
                // A sequence gap as the broker would report it: the idempotent producer bumps its epoch and renumbers.
                faults.PushRequestErrors(ApiKey.Produce, ErrorCode.OutOfOrderSequenceNumber);
                break;
            case 26:
                faults.PushRequestErrors(ApiKey.Produce, ErrorCode.UnknownProducerId, ErrorCode.NetworkException);
                break;
            case 30:
                faults.SetPartitionLeader(topic, 0, 1);
                faults.PushRequestErrors(ApiKey.Produce, ErrorCode.NotLeaderOrFollower, ErrorCode.NotLeaderOrFollower);
                break;
            case 34:
                faults.SetBrokerDown(3);
                break;
            case 36:
                faults.SetBrokerUp(3);
                break;
        }
    }

    private sealed record FaultState(int[] Outcomes, long[] Offsets, int[] Partitions, List<string> Failures);
}
