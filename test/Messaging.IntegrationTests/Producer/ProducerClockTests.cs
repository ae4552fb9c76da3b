using System.Net;
using System.Net.Sockets;
using Messaging.IntegrationTests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Producer;

/// <summary>
/// The producer reads time through <see cref="KafkaClientOptions.TimeProvider"/>: its lingers, throttles and waits
/// run on a fake clock when given one, so tests advance time instead of sleeping. Each duration here is ten minutes
/// or more: on the system clock nothing would happen within the test's timeout.
/// </summary>
public sealed class ProducerClockTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(15);

    [Fact(Timeout = 60_000)]
    public async Task A_batch_lingers_until_the_fake_clock_passes_linger_ms_and_goes_out_then()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        await using var broker = FakeProduceBroker.Start(throttleMs: 0, throttledResponses: 0);
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            Acks = Acks.Leader,
            EnableIdempotence = false,
            SendWhenIdle = false, // the Java client's fixed linger
            Linger = TimeSpan.FromMinutes(10),
            DeliveryTimeout = TimeSpan.FromHours(3),
            TimeProvider = time,
        });

        var delivery = producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "lingering"u8.ToArray(), cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => producer.Core.Senders.All.Length == 1 && producer.Core.Accumulator.IncompleteCount == 1, Prompt, "the record never reached a batch with a sender", ct);
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(delivery.IsCompleted, "the batch went out before its linger passed on the fake clock");
        Assert.Empty(broker.Produces);

        time.Advance(TimeSpan.FromMinutes(1));
        var result = await delivery.WaitAsync(Prompt, ct);
        Assert.Equal(0, result.Offset);
        _ = Assert.Single(broker.Produces);
    }

    [Fact(Timeout = 60_000)]
    public async Task With_send_when_idle_a_batch_goes_out_at_once_and_what_arrives_in_flight_rides_the_next_request()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(); // never advanced: a ten-minute linger cannot be what sends anything here
        await using var broker = FakeProduceBroker.Start(throttleMs: 0, throttledResponses: 0, produceDelay: TimeSpan.FromMilliseconds(300));
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            Acks = Acks.Leader,
            EnableIdempotence = false,
            Linger = TimeSpan.FromMinutes(10),
            DeliveryTimeout = TimeSpan.FromHours(3),
            TimeProvider = time,
        });

        // The sender is idle: the first record goes out at once, and its request is held 300 ms by the broker.
        var first = producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "first"u8.ToArray(), cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => !broker.Produces.IsEmpty || producer.Core.Senders.All is [{ InFlight: 1 }], Prompt, "the first record was not sent while the sender was idle", ct);

        // While it is in flight, twenty more records form one batch; they go when the first request is answered.
        var rest = new Task<DeliveryResult>[20];
        for (var i = 0; i < rest.Length; i++)
        {
            rest[i] = producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "more"u8.ToArray(), cancellationToken: ct).AsTask();
        }

        Assert.Equal(0, (await first.WaitAsync(Prompt, ct)).Offset);
        var delivered = await Task.WhenAll(rest).WaitAsync(Prompt, ct);
        Assert.Equal(20, delivered[^1].Offset);
        Assert.Equal(2, broker.Produces.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_throttled_connection_stays_muted_until_the_fake_clock_passes_the_throttle()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        await using var broker = FakeProduceBroker.Start(throttleMs: (int)TimeSpan.FromMinutes(10).TotalMilliseconds, throttledResponses: 1);
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            Acks = Acks.Leader,
            EnableIdempotence = false,
            Linger = TimeSpan.Zero,
            RequestTimeout = Hour, // the throttle's mute is capped at the request timeout
            DeliveryTimeout = TimeSpan.FromHours(3),
            TimeProvider = time,
        });

        await producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "one"u8.ToArray(), cancellationToken: ct).AsTask().WaitAsync(Prompt, ct);
        var second = producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "two"u8.ToArray(), cancellationToken: ct).AsTask();
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(second.IsCompleted, "the next request went out before the throttle passed on the fake clock");
        _ = Assert.Single(broker.Produces);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, (await second.WaitAsync(Prompt, ct)).Offset);
        Assert.Equal(2, broker.Produces.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_record_waiting_for_metadata_fails_when_the_fake_clock_passes_max_block()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = "127.0.0.1:" + ClosedPort(),
            MaxBlock = Hour,
            DeliveryTimeout = TimeSpan.FromHours(3),
            TimeProvider = time,
        });

        var waiting = producer.ProduceAsync("nowhere", (byte[]?)null, new byte[10], cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => producer.Core.Cluster.Connections.ConnectAttempts > 0, Prompt, "the producer never tried to reach the cluster", ct);
        time.Advance(Hour - TimeSpan.FromMinutes(1));
        Assert.False(waiting.IsCompleted, "the record failed before max.block passed on the fake clock");

        time.Advance(TimeSpan.FromMinutes(2));
        var error = await Assert.ThrowsAsync<ProduceException>(() => waiting.WaitAsync(Prompt, ct));
        Assert.Equal(ProduceErrorKind.MetadataTimeout, error.Kind);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact(Timeout = 60_000)]
    public async Task A_delivery_timeout_of_TimeSpan_MaxValue_never_expires_a_batch_while_its_request_is_in_flight()
    {
        // "No limit", as a configuration may say: the deadline saturates. Added to a timestamp as it is, it wrapped to
        // one long past, and the producer's housekeeping (every 50 ms) failed the batch in flight as timed out.
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeProduceBroker.Start(throttleMs: 0, throttledResponses: 0, produceDelay: TimeSpan.FromMilliseconds(400));
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            Acks = Acks.Leader,
            EnableIdempotence = false,
            RequestTimeout = TimeSpan.MaxValue,
            DeliveryTimeout = TimeSpan.MaxValue,
        });

        for (var i = 0; i < 3; i++)
        {
            var result = await producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "unbounded"u8.ToArray(), cancellationToken: ct);
            Assert.Equal(i, result.Offset);
        }

        Assert.Equal(3, broker.Produces.Count);
    }
}
