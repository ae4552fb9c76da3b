using Messaging.Connection;
using Messaging.IntegrationTests.Consumer;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Connection;

/// <summary>
/// The transport seam: a factory set on the options opens every connection's byte stream, and a wrapping factory
/// sees exactly the bytes the client and the broker exchange.
/// </summary>
public sealed class TransportSeamTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 30_000)]
    public async Task A_wrapping_transport_sees_exactly_the_request_and_response_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var counting = new CountingTransportFactory();
        var settings = BrokerConnectionTests.Settings(broker.BootstrapServers, o => o.TransportFactory = counting);
        var connection = await BrokerConnection.ConnectAsync(BrokerConnectionTests.First(broker.BootstrapServers), settings, ct);
        Assert.Equal(1, counting.Opened);
        Assert.True(counting.BytesSent > 0 && counting.BytesReceived > 0, "the ApiVersions handshake went through the transport");

        var request = new MetadataRequest { Topics = null };
        var version = connection.ApiVersions.VersionFor(ApiKey.Metadata);
        var expectedRequestBytes = EncodedSize(request, version, settings.ClientId);
        var sentBefore = counting.BytesSent;
        var receivedBefore = counting.BytesReceived;

        using (var frame = await connection.SendAsync(request, version, TimeSpan.FromSeconds(10), ct))
        {
            Assert.Equal(expectedRequestBytes, counting.BytesSent - sentBefore);
            Assert.Equal(frame.Length + 4, counting.BytesReceived - receivedBefore); // the size prefix and the frame
        }

        await connection.DisposeAsync();
        Assert.Equal(1, counting.Disposed); // disposing the connection releases its transport
    }

    [Fact(Timeout = 60_000)]
    public async Task Producer_and_consumer_run_over_the_factory_set_on_their_options()
    {
        const int Records = 50;
        const int ValueBytes = 1000;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("transport");
        await broker.CreateTopicAsync(topic, 1, 1, ct);

        var producing = new CountingTransportFactory();
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, TransportFactory = producing }))
        {
            for (var i = 0; i < Records; i++)
            {
                await producer.ProduceAsync(topic, (byte[]?)null, new byte[ValueBytes], cancellationToken: ct);
            }
        }

        Assert.True(producing.Opened >= 1);
        Assert.Equal(producing.Opened, producing.Disposed); // disposing the producer released every transport it opened
        Assert.InRange(producing.BytesSent, Records * ValueBytes, (Records * ValueBytes) + (Records * 1024) + 16_384); // the values plus framing
        Assert.True(producing.BytesReceived > 0);

        var consuming = new CountingTransportFactory();
        await using (var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.TransportFactory = consuming)))
        {
            consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
            var results = await ConsumerTestSupport.ReadAsync(consumer, Records, TimeSpan.FromSeconds(30), ct);
            Assert.Equal(Records, results.Count);
        }

        Assert.True(consuming.BytesReceived >= Records * ValueBytes, "the records came through the transport");
        Assert.Equal(consuming.Opened, consuming.Disposed);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_authenticator_talks_over_the_connection_after_ApiVersions_and_before_anyone_else()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var counting = new CountingTransportFactory();
        var authenticator = new MetadataAuthenticator(fail: false);
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers, TransportFactory = counting }) { Authenticator = authenticator };

        await using var connection = await BrokerConnection.ConnectAsync(BrokerConnectionTests.First(broker.BootstrapServers), settings, ct);

        Assert.Equal(1, authenticator.Runs);
        Assert.True(authenticator.SawNegotiatedVersions);
        Assert.True(authenticator.BrokersSeen > 0); // its request went over the connection and was answered
        Assert.Equal(0, connection.PendingCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_failing_authenticator_fails_the_connect_and_releases_the_transport()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var counting = new CountingTransportFactory();
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers, TransportFactory = counting })
        {
            Authenticator = new MetadataAuthenticator(fail: true),
        };

        var error = await Assert.ThrowsAsync<Messaging.KafkaConnectionException>(async () =>
            await BrokerConnection.ConnectAsync(BrokerConnectionTests.First(broker.BootstrapServers), settings, ct));

        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Equal(1, counting.Opened);
        Assert.Equal(1, counting.Disposed);
    }

    private static long EncodedSize(MetadataRequest request, short version, string clientId)
    {
        var buffer = RequestBuffers.Rent();
        try
        {
            return KafkaFrames.WriteRequest(buffer, request, version, correlationId: 1, clientId);
        }
        finally
        {
            RequestBuffers.Return(buffer);
        }
    }

    /// <summary>Stands in for SASL: one request/response conversation over the new connection.</summary>
    private sealed class MetadataAuthenticator(bool fail) : IConnectionAuthenticator
    {
        public int Runs { get; private set; }

        public bool SawNegotiatedVersions { get; private set; }

        public int BrokersSeen { get; private set; }

        public async ValueTask AuthenticateAsync(BrokerConnection connection, CancellationToken cancellationToken)
        {
            Runs++;
            SawNegotiatedVersions = connection.ApiVersions is not null;
            var response = await connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, cancellationToken);
            BrokersSeen = response.Brokers.Length;
            if (fail)
            {
                throw new InvalidOperationException("authentication refused");
            }
        }
    }
}
