using Messaging.Connection;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// <c>bootstrap.servers</c> as users write it: <c>host:port</c>, bracketed IPv6, and a listener's address copied
/// with its security-protocol prefix (<c>PLAINTEXT://host:9092</c>), which the Java client and librdkafka accept.
/// </summary>
public sealed class BrokerEndpointTests
{
    [Fact]
    public void Servers_parse_to_host_and_port_with_or_without_a_listener_prefix()
    {
        var endpoints = BrokerEndpoint.ParseList(" broker1.test:9092 ,PLAINTEXT://broker2.test:9093, SASL_SSL://[::1]:9094,[fe80::1]:9095");

        Assert.Equal(
            [new("broker1.test", 9092), new("broker2.test", 9093), new("::1", 9094), new("fe80::1", 9095)],
            endpoints);
    }

    [Theory]
    [InlineData("broker1.test")]
    [InlineData("broker1.test:0")]
    [InlineData("broker1.test:65536")]
    [InlineData(":9092")]
    [InlineData("PLAINTEXT://:9092")]
    public void A_server_without_a_host_or_a_valid_port_is_rejected_naming_it(string server)
    {
        var error = Assert.Throws<ArgumentException>(() => BrokerEndpoint.ParseList(server));
        Assert.Contains(server, error.Message, StringComparison.Ordinal);
    }
}
