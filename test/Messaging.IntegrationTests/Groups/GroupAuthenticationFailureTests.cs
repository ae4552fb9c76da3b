using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Security;
using Messaging.IntegrationTests.Support;
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
    [Fact(Timeout = 90_000)]
    public async Task Credentials_refused_to_a_stable_classic_member_at_its_session_renewal_end_its_consume_with_a_group_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("auth-stable");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        using var certificate = _ca.IssueServerCertificate();
        var proxyOptions = SaslThroughProxyTests.ProxyOptions(certificate, SaslOptions.NameOf(SaslMechanism.Plain));
        proxyOptions.SessionLifetime = TimeSpan.FromSeconds(3); // every connection authenticates again within 3 s
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, proxyOptions);
        var options = SaslThroughProxyTests.Secure(ConsumerTestSupport.Options(proxy.BootstrapServers, o =>
        {
            o.GroupId = "group-" + Guid.NewGuid().ToString("N")[..8];
            o.GroupProtocol = GroupProtocol.Classic;
        }), _ca, SaslMechanism.Plain, "wonderland");
        await using var consumer = ConsumerTestSupport.Bytes(options);
        consumer.Subscribe([topic]);
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 1, TimeSpan.FromSeconds(30), "the member stable with its partition", ct);

        // The brokers stop taking the member's credentials: its heartbeat's connection fails its next authentication.
        proxyOptions.Users["alice"] = "changed";
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        KafkaGroupException? groupError = null;
        var otherErrors = new List<string>();
        while (groupError is null && DateTimeOffset.UtcNow < deadline)
        {
            using var turn = CancellationTokenSource.CreateLinkedTokenSource(ct);
            turn.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await consumer.ConsumeBatchAsync(turn.Token);
            }
            catch (KafkaGroupException ex)
            {
                groupError = ex;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Nothing within this turn: ask again.
            }
            catch (KafkaException ex)
            {
                otherErrors.Add(ex.GetType().Name + ": " + ex.Message); // the fetch path may report it too
            }
        }

        Assert.True(groupError is not null, "no group error within 30 s of the credentials being refused; other outcomes: " + string.Join(" | ", otherErrors.Take(3)));
        Assert.Contains("Authentication failed", groupError.Message, StringComparison.Ordinal);
    }
}
