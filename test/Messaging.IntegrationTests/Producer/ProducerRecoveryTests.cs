using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Messaging.IntegrationTests.Support;
using Messaging.Producer;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Producer;

/// <summary>
/// A rolling restart is the normal case: a partition whose leader's broker restarts, or that is briefly leaderless,
/// resumes delivering seconds after the leader is reachable again — losing, duplicating and reordering nothing — and
/// every record's outcome arrives within the delivery timeout after its call, whatever the cluster does.
/// </summary>
/// <remarks>
/// The producer runs as a production service would: replication factor 3, idempotence, acks=all, five requests in
/// flight, a 2 s request timeout. Recovery is timed from the moment the fault heals to the last acknowledgement of
/// the records produced during it. librdkafka's mock crashes the process when a partition a client already
/// produces to is made leaderless, so the leaderless case makes the partition leaderless before the producer
/// first sees it.
/// </remarks>
public sealed class ProducerRecoveryTests
{
    /// <summary>The bound the tests hold recovery to: metadata refresh backoff (≤ 1 s) + reconnect backoff (≤ 1 s) + one request, with room for a loaded machine.</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(6);

    /// <summary>
    /// How late after the delivery timeout an outcome may arrive: the producer's documented slack, plus room for the
    /// test's own awaiting continuations to be scheduled on a loaded 2-core CI machine (the times are taken there).
    /// </summary>
    private static readonly TimeSpan OutcomeTolerance = ProducerSettings.OutcomeSlack + TimeSpan.FromMilliseconds(300);

    private const int Partitions = 12;

    [Fact(Timeout = 120_000)]
    public async Task A_partition_whose_leaders_broker_restarts_resumes_within_seconds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = CreateTopic(cluster, "restart");
        var log = new CollectingLogger();
        await using var producer = new KafkaProducer(ProductionOptions(cluster.BootstrapServers, log));
        await WarmUpAsync(producer, topic, ct);

        // Partition 1 is led by broker 2: take it down, produce to the partition meanwhile, bring it back.
        var sequence = Partitions; // after the warm-up's
        var during = new List<Task<Outcome>>();
        cluster.SetBrokerDown(2);
        var downAt = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(downAt) < TimeSpan.FromMilliseconds(1500))
        {
            during.Add(Track(producer.ProduceAsync(topic, null, SequencedPayload.Create(sequence++, 64), partition: 1, cancellationToken: ct)));
            await Task.Delay(15, ct);
        }

        var cannotConnectDuringOutage = log.Lines.Count(l => l.Contains("cannot connect", StringComparison.Ordinal));
        cluster.SetBrokerUp(2);
        var upAt = Stopwatch.GetTimestamp();
        var outcomes = await Task.WhenAll(during).WaitAsync(TimeSpan.FromSeconds(60), ct);
        var recovery = Stopwatch.GetElapsedTime(upAt, outcomes.Max(o => o.DoneTicks));
        TestContext.Current.TestOutputHelper?.WriteLine($"broker restart: {outcomes.Length} records produced during the outage, all acknowledged {recovery.TotalMilliseconds:F0} ms after the broker came back; {cannotConnectDuringOutage} failed connection attempts logged during it");
        AssertAllDelivered(outcomes, log);
        Assert.True(recovery < RecoveryBound, $"the partition resumed {recovery.TotalMilliseconds:F0} ms after its leader came back (bound {RecoveryBound.TotalSeconds} s)");
        await AssertExactlyOnceInOrderAsync(cluster, topic, sequence, ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_leaderless_partition_resumes_within_seconds_once_it_has_a_leader()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = CreateTopic(cluster, "leaderless");
        cluster.SetPartitionLeader(topic, 0, -1); // before any client sees the partition (the mock crashes otherwise)
        var log = new CollectingLogger();
        await using var producer = new KafkaProducer(ProductionOptions(cluster.BootstrapServers, log));
        var during = new List<Task<Outcome>>();
        for (var i = 0; i < 100; i++)
        {
            during.Add(Track(producer.ProduceAsync(topic, null, SequencedPayload.Create(i, 64), partition: 0, cancellationToken: ct)));
            await Task.Delay(5, ct);
        }

        // Let the producer settle on "no leader": it must keep asking for metadata, not give up.
        var asked = producer.Core.Cluster.Metadata.RequestsSent;
        await Eventually.TrueAsync(() => producer.Core.Cluster.Metadata.RequestsSent >= asked + 3, TimeSpan.FromSeconds(20), "the producer stopped asking for the partition's leader", ct);
        Assert.DoesNotContain(during, t => t.IsCompleted && t.Result.Error is null);
        cluster.SetPartitionLeader(topic, 0, 1);
        var ledAt = Stopwatch.GetTimestamp();
        var outcomes = await Task.WhenAll(during).WaitAsync(TimeSpan.FromSeconds(60), ct);
        var recovery = Stopwatch.GetElapsedTime(ledAt, outcomes.Max(o => o.DoneTicks));
        TestContext.Current.TestOutputHelper?.WriteLine($"leaderless partition: 100 records acknowledged {recovery.TotalMilliseconds:F0} ms after it got a leader");
        AssertAllDelivered(outcomes, log);
        Assert.True(recovery < RecoveryBound, $"the partition resumed {recovery.TotalMilliseconds:F0} ms after it got a leader (bound {RecoveryBound.TotalSeconds} s)");
        await AssertExactlyOnceInOrderAsync(cluster, topic, 100, ct); // no warm-up here: records 0-99
    }

    [Fact(Timeout = 120_000)]
    public async Task Every_outcome_arrives_within_the_delivery_timeout_when_nothing_listens_at_the_bootstrap_address()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = BoundOptions(ClosedPort());
        await using var producer = new KafkaProducer(options);
        await ProduceAndFlushWithinBoundAsync(producer, "nowhere", TimeSpan.FromSeconds(2), options.DeliveryTimeout, ProduceErrorKind.MetadataTimeout, ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Every_outcome_arrives_within_the_delivery_timeout_when_the_only_broker_is_down_before_the_first_record()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        cluster.CreateTopic("down", 3, 1);
        cluster.SetBrokerDown(1);
        var options = BoundOptions(cluster.BootstrapServers);
        await using var producer = new KafkaProducer(options);
        await ProduceAndFlushWithinBoundAsync(producer, "down", TimeSpan.FromSeconds(1), options.DeliveryTimeout, expectedKind: null, ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Every_outcome_arrives_within_the_delivery_timeout_when_the_topic_never_exists()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var options = BoundOptions(cluster.BootstrapServers);
        await using var producer = new KafkaProducer(options);
        await ProduceAndFlushWithinBoundAsync(producer, "never-created", TimeSpan.FromSeconds(1), options.DeliveryTimeout, ProduceErrorKind.MetadataTimeout, ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Every_outcome_arrives_within_the_delivery_timeout_when_the_broker_stops_answering_mid_stream()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        cluster.CreateTopic("silent", 3, 1);
        var options = BoundOptions(cluster.BootstrapServers);
        options.RequestTimeout = TimeSpan.FromMilliseconds(1900); // a batch (re)sent late in its life is still in flight at its deadline: it must expire on its own
        options.DeliveryTimeout = TimeSpan.FromSeconds(2);
        await using var producer = new KafkaProducer(options);
        // Metadata, producer id and connection in place (sent again while the short timeouts, meant for the silence below,
        // expire it during the set-up on a loaded machine).
        await ProducerBehaviourTests.DeliverOneAsync(producer, "silent", ct);

        // The broker's answers now take longer than any timeout: requests time out, reconnect, are sent again, and
        // are in flight when their records' delivery timeout runs out.
        cluster.SetBrokerRoundTripDelay(1, TimeSpan.FromSeconds(30));
        await ProduceAndFlushWithinBoundAsync(producer, "silent", TimeSpan.FromMilliseconds(500), options.DeliveryTimeout, ProduceErrorKind.DeliveryTimeout, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_batch_still_in_flight_at_its_deadline_is_reported_then_not_when_its_late_answer_comes()
    {
        var ct = TestContext.Current.CancellationToken;

        // Each Produce is answered 1.5 s after it arrives, one at a time: with one request in flight, the second
        // request goes out at 1.5 s carrying records called at about 0 s, whose delivery timeout (2 s) runs out while
        // it is in flight, before its answer (3 s) and its request timeout (3.4 s).
        await using var broker = FakeProduceBroker.Start(0, 0, produceDelay: TimeSpan.FromMilliseconds(1500));
        var options = BoundOptions(broker.BootstrapServers);
        options.EnableIdempotence = false; // the fake has no InitProducerId
        options.MaxInFlightRequestsPerConnection = 1;
        options.RequestTimeout = TimeSpan.FromMilliseconds(1900);
        await using var producer = new KafkaProducer(options);
        var outcomes = await Task.WhenAll(await ProduceForAsync(producer, FakeProduceBroker.Topic, TimeSpan.FromMilliseconds(1000), ct)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        await producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        AssertWithinBound(outcomes, options.DeliveryTimeout, expectedKind: null, deliveredAllowed: true);
        Assert.Contains(outcomes, o => o.Error is null);
        Assert.Contains(outcomes, o => o.Error is ProduceException { Kind: ProduceErrorKind.DeliveryTimeout });
    }

    [Fact(Timeout = 60_000)]
    public async Task A_blocking_produce_behind_records_waiting_for_metadata_reports_the_metadata_wait()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = BoundOptions(ClosedPort());
        options.MaxBlock = TimeSpan.FromMilliseconds(500);
        await using var producer = new KafkaProducer(options);
        var waiting = Track(producer.ProduceAsync("nowhere", null, new byte[10], cancellationToken: ct));
        var error = Assert.Throws<ProduceException>(() => producer.Produce("nowhere", new ProducerRecord { KeyIsNull = true, Value = new byte[10] }));
        Assert.Equal(ProduceErrorKind.MetadataTimeout, error.Kind);
        var outcome = await waiting.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(ProduceErrorKind.MetadataTimeout, Assert.IsType<ProduceException>(outcome.Error).Kind);
    }

    internal static KafkaProducerOptions ProductionOptions(string bootstrapServers, CollectingLogger log) => new()
    {
        BootstrapServers = bootstrapServers,
        ClientId = "recovery-test",
        EnableIdempotence = true,
        Acks = Acks.All,
        MaxInFlightRequestsPerConnection = 5,
        RequestTimeout = TimeSpan.FromSeconds(2),
        DeliveryTimeout = TimeSpan.FromSeconds(30),
        LoggerFactory = log,
    };

    private static KafkaProducerOptions BoundOptions(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        ClientId = "bound-test",
        EnableIdempotence = true,
        RequestTimeout = TimeSpan.FromSeconds(1),
        DeliveryTimeout = TimeSpan.FromSeconds(2),
        ReconnectBackoff = TimeSpan.FromMilliseconds(20),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(500),
    };

    internal static string CreateTopic(EmbeddedKafkaCluster cluster, string prefix)
    {
        var topic = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, Partitions, 3);
        for (var p = 0; p < Partitions; p++)
        {
            cluster.SetPartitionLeader(topic, p, (p % 3) + 1);
        }

        return topic;
    }

    /// <summary>One record to every partition, awaited: metadata, producer id and connections are in place.</summary>
    private static async Task WarmUpAsync(KafkaProducer producer, string topic, CancellationToken ct)
    {
        var warm = new List<Task<Messaging.DeliveryResult>>();
        for (var p = 0; p < Partitions; p++)
        {
            warm.Add(producer.ProduceAsync(topic, null, SequencedPayload.Create(p, 64), partition: p, cancellationToken: ct).AsTask());
        }

        await Task.WhenAll(warm).WaitAsync(TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>Produces for <paramref name="duration"/>, then flushes: every outcome and the flush arrive within the delivery timeout (+ slack) of their call.</summary>
    private static async Task ProduceAndFlushWithinBoundAsync(KafkaProducer producer, string topic, TimeSpan duration, TimeSpan deliveryTimeout, ProduceErrorKind? expectedKind, CancellationToken ct)
    {
        var pending = await ProduceForAsync(producer, topic, duration, ct);
        var flushCalled = Stopwatch.GetTimestamp(); // right after the last call: it waits for every record
        await producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        var flushTook = Stopwatch.GetElapsedTime(flushCalled);
        var outcomes = await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(60), ct);
        AssertWithinBound(outcomes, deliveryTimeout, expectedKind);
        Assert.True(flushTook < deliveryTimeout + OutcomeTolerance, $"FlushAsync took {flushTook.TotalMilliseconds:F0} ms (bound {deliveryTimeout.TotalMilliseconds} ms + slack)");
    }

    /// <summary>
    /// Produces about 4,000 records a second for <paramref name="duration"/> (a busy service's rate; the outcome times
    /// are taken where each awaiting caller resumes, so flooding the two cores with a million awaiters would measure
    /// the thread pool, not the producer), tracking each call's start and outcome.
    /// </summary>
    private static async Task<List<Task<Outcome>>> ProduceForAsync(KafkaProducer producer, string topic, TimeSpan duration, CancellationToken ct)
    {
        var tracked = new List<Task<Outcome>>();
        var started = Stopwatch.GetTimestamp();
        var i = 0;
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            var due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * 4000);
            while (i < due)
            {
                tracked.Add(Track(producer.ProduceAsync(topic, null, SequencedPayload.Create(i++, 32), cancellationToken: ct)));
            }

            await Task.Delay(1, ct);
        }

        return tracked;
    }

    internal static async Task<Outcome> Track(ValueTask<Messaging.DeliveryResult> delivery)
    {
        var called = Stopwatch.GetTimestamp();
        try
        {
            var result = await delivery;
            return new Outcome(called, Stopwatch.GetTimestamp(), result, null);
        }
        catch (Exception ex)
        {
            return new Outcome(called, Stopwatch.GetTimestamp(), default, ex);
        }
    }

    private static void AssertAllDelivered(Outcome[] outcomes, CollectingLogger log)
    {
        var failed = outcomes.Where(o => o.Error is not null).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {outcomes.Length} records failed, e.g. {failed.FirstOrDefault()?.Error?.Message}{Environment.NewLine}{log}");
    }

    private static void AssertWithinBound(Outcome[] outcomes, TimeSpan deliveryTimeout, ProduceErrorKind? expectedKind, bool deliveredAllowed = false)
    {
        var late = 0;
        var worst = TimeSpan.Zero;
        foreach (var outcome in outcomes)
        {
            var took = Stopwatch.GetElapsedTime(outcome.CalledTicks, outcome.DoneTicks);
            worst = took > worst ? took : worst;
            if (took > deliveryTimeout + OutcomeTolerance)
            {
                late++;
            }

            if (deliveredAllowed && outcome.Error is null)
            {
                continue;
            }

            var error = Assert.IsType<ProduceException>(outcome.Error);
            if (expectedKind is { } kind)
            {
                Assert.Equal(kind, error.Kind);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{outcomes.Length} calls; the slowest outcome took {worst.TotalMilliseconds:F0} ms (delivery timeout {deliveryTimeout.TotalMilliseconds} ms)");
        Assert.True(late == 0, $"{late} of {outcomes.Length} outcomes arrived later than the delivery timeout ({deliveryTimeout.TotalMilliseconds} ms) + slack after their call; the slowest took {worst.TotalMilliseconds:F0} ms");
    }

    private static async Task AssertExactlyOnceInOrderAsync(EmbeddedKafkaCluster cluster, string topic, int records, CancellationToken ct)
    {
        var audit = await IdempotentLogAudit.ReadAsync(cluster.BootstrapServers, topic, Partitions, records, ct);
        for (var i = 0; i < records; i++)
        {
            Assert.True(audit.Seen[i] == 1, $"record {i} is in the log {audit.Seen[i]} times (after dropping broker-rejected duplicates)");
        }
    }

    /// <summary>A loopback port nothing listens on.</summary>
    private static string ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return "127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    internal sealed record Outcome(long CalledTicks, long DoneTicks, Messaging.DeliveryResult Result, Exception? Error);
}
