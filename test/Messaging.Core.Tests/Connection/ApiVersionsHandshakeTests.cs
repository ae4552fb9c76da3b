using Messaging.Connection;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// The UNSUPPORTED_VERSION reply layouts the handshake must read to pick its retry version, and the ApiVersions
/// answer's throttle (KIP-219), which mutes the new connection like any other throttled response.
/// </summary>
public sealed class ApiVersionsHandshakeTests
{
    [Fact]
    public void Kafka_v0_layout_with_an_int32_count_gives_the_broker_ApiVersions_max()
    {
        // error 35, count 2: (Produce 0..9), (ApiVersions 0..3) — what a Kafka broker writes for a version it lacks.
        byte[] body = [0x00, 0x23, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03];
        Assert.Equal((short)3, ApiVersionsHandshake.AdvertisedApiVersionsMax(body));
    }

    [Fact]
    public void Librdkafka_mock_layout_with_a_one_byte_count_gives_its_ApiVersions_max()
    {
        // Captured from the embedded broker's answer to ApiVersions v3: error 35, count byte 1, (ApiVersions 0..2), throttle 0.
        byte[] body = [0x00, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00];
        Assert.Equal((short)2, ApiVersionsHandshake.AdvertisedApiVersionsMax(body));
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x23 })] // error code only
    [InlineData(new byte[] { 0x00, 0x23, 0x7F, 0xFF, 0xFF, 0xFF, 0x00 })] // a count far beyond the bytes
    [InlineData(new byte[] { 0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09 })] // no ApiVersions entry
    public void Replies_that_name_no_ApiVersions_range_give_none(byte[] body) =>
        Assert.Null(ApiVersionsHandshake.AdvertisedApiVersionsMax(body));

    [Fact]
    public void Random_replies_never_throw_and_never_claim_a_negative_version()
    {
        var random = new Random(11);
        for (var i = 0; i < 10_000; i++)
        {
            var body = new byte[random.Next(0, 64)];
            random.NextBytes(body);
            var max = ApiVersionsHandshake.AdvertisedApiVersionsMax(body);
            Assert.True(max is null or >= 0);
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task A_throttled_ApiVersions_answer_mutes_the_new_connection_for_the_throttle_time()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = new InMemoryBroker { ApiVersionsThrottleMs = 5_000 },
            TimeProvider = time,
        });

        await using var connection = await BrokerConnection.ConnectAsync(new BrokerEndpoint("broker1.test", 9092, NodeId: 1), settings, ct);

        Assert.True(connection.MutedUntil != 0, "the broker throttled ApiVersions for 5 s, yet the new connection is not muted");
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Clock.Between(settings.Clock.Now, connection.MutedUntil));
    }
}
