using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Security;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A subscribed consumer whose credentials the brokers refuse: its consume call ends with the error, under either group protocol.</summary>
public sealed class GroupAuthenticationFailureTests(TestBrokerFixture fixture) : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    [Theory(Timeout = 60_000)]
    [InlineData(GroupProtocol.Classic)]
    [InlineData(GroupProtocol.Consumer)]
    public async Task A_refused_authentication_ends_a_subscribed_consume_with_a_group_error(GroupProtocol protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, SaslThroughProxyTests.ProxyOptions(certificate, SaslOptions.NameOf(SaslMechanism.Plain)));
        var options = SaslThroughProxyTests.Secure(ConsumerTestSupport.Options(proxy.BootstrapServers, o =>
        {
            o.GroupId = "group-" + Guid.NewGuid().ToString("N")[..8];
            o.GroupProtocol = protocol;
        }), _ca, SaslMechanism.Plain, "not-the-password");
        await using var consumer = ConsumerTestSupport.Bytes(options);
        consumer.Subscribe(["events"]);

        var error = await Assert.ThrowsAsync<KafkaGroupException>(() => consumer.ConsumeBatchAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct));
        Assert.Contains("Authentication failed", error.Message, StringComparison.Ordinal);
    }
}
