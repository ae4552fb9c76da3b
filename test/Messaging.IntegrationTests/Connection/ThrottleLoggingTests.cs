using Messaging.Connection;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Connection;

public sealed class ThrottleLoggingTests
{
    [Fact(Timeout = 20_000)]
    public async Task A_throttled_response_is_logged_with_the_broker_api_and_time()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(new HostileBrokerOptions { Behavior = HostileBehavior.WellBehaved, ThrottleTimeMs = 250 });
        var logs = new RecordingLoggerFactory();
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "127.0.0.1:" + broker.Port, LoggerFactory = logs });
        await using var connection = await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct);

        var response = await connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct);

        Assert.Equal(250, response.ThrottleTimeMs);
        var throttled = Assert.Single(logs.Events, e => e.Event.Id == 6);
        Assert.Contains(connection.Name, throttled.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(ApiKey.Metadata), throttled.Message, StringComparison.Ordinal);
        Assert.Contains("250 ms", throttled.Message, StringComparison.Ordinal);
    }
}
