using System.Diagnostics;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Producer;

/// <summary>Disposal with records still buffered: they are delivered (flush) or fail with a typed error; none is dropped silently.</summary>
public sealed class ProducerDisposalTests(TestBrokerFixture fixture)
{
    private static readonly DeliveryHandler Count = static (in Messaging.DeliveryResult _, ProduceException? e, object? s) =>
    {
        var outcome = (Outcome)s!;
        if (e is null)
        {
            Interlocked.Increment(ref outcome.Delivered);
        }
        else
        {
            Interlocked.Increment(ref outcome.Failed);
            outcome.LastError = e;
        }
    };

    [Fact(Timeout = 60_000)]
    public async Task Disposing_delivers_what_is_still_lingering_before_it_returns()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("dispose-flush");
        await broker.CreateTopicAsync(topic, 3, 1, ct);
        var outcome = new Outcome();
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            Linger = TimeSpan.FromSeconds(30), // nothing would leave before disposal
            SendWhenIdle = false,
            DeliveryTimeout = TimeSpan.FromSeconds(60),
        });
        producer.Produce(topic, "warm"u8, "up"u8);
        await producer.FlushAsync(ct); // metadata and connection (a flush does not linger)
        for (var i = 0; i < 1000; i++)
        {
            producer.Produce(topic, BitConverter.GetBytes(i), SequencedPayload.Create(i, 20), Count, outcome);
        }

        var awaited = Enumerable.Range(0, 10).Select(i => producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(1000 + i, 20), cancellationToken: ct).AsTask()).ToArray();
        Assert.Equal(0, outcome.Delivered + outcome.Failed);
        var clock = Stopwatch.StartNew();
        await producer.DisposeAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "disposal did not wait out the linger");
        Assert.Equal(1000, outcome.Delivered);
        Assert.Equal(0, outcome.Failed);
        Assert.All(awaited, t => Assert.True(t.IsCompletedSuccessfully));
        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 3, 1011, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(1011, records.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Disposing_with_the_broker_unreachable_fails_every_buffered_record_with_a_typed_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("dispose-fail");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        var outcome = new Outcome();
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            CloseTimeout = TimeSpan.FromMilliseconds(500),
            DeliveryTimeout = TimeSpan.FromSeconds(60),
            RequestTimeout = TimeSpan.FromSeconds(30),
        });
        await producer.ProduceAsync(topic, "warm"u8.ToArray(), "up"u8.ToArray(), cancellationToken: ct);
        var produceConnection = await producer.Core.Connections.GetAsync(1, ct);
        broker.Faults!.SetBrokerDown(1);
        await produceConnection.Closed.WaitAsync(TimeSpan.FromSeconds(10), ct); // the producer has lost the broker
        for (var i = 0; i < 500; i++)
        {
            producer.Produce(topic, BitConverter.GetBytes(i), new byte[50], Count, outcome);
        }

        var awaited = Enumerable.Range(0, 10).Select(_ => producer.ProduceAsync(topic, (byte[]?)null, new byte[50], cancellationToken: ct).AsTask()).ToArray();
        var clock = Stopwatch.StartNew();
        await producer.DisposeAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"disposal took {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(0, outcome.Delivered);
        Assert.Equal(500, outcome.Failed); // every record heard back, exactly once
        Assert.Equal(ProduceErrorKind.Disposed, outcome.LastError!.Kind);
        Assert.False(outcome.LastError.IsRetriable);
        foreach (var task in awaited)
        {
            var error = await Assert.ThrowsAsync<ProduceException>(() => task);
            Assert.Equal(ProduceErrorKind.Disposed, error.Kind);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task After_disposal_every_call_throws_ObjectDisposedException_and_disposing_again_is_harmless()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("disposed");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers });
        await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);
        await producer.DisposeAsync();
        await producer.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => producer.Produce(topic, "k"u8, "v"u8));
        Assert.Throws<ObjectDisposedException>(() => producer.Produce(topic, new ProducerRecord { Value = "v"u8 }));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => producer.FlushAsync(ct));
    }

    private sealed class Outcome
    {
        public int Delivered;
        public int Failed;
        public ProduceException? LastError;
    }
}
