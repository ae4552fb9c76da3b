using Messaging.Testing.Brokers;
using Testcontainers.Kafka;

namespace Messaging.IntegrationTests.EmbeddedBroker;

public sealed class TestBrokerFixtureTests
{
    [Theory]
    [InlineData(null, TestBrokerKind.Embedded)]
    [InlineData("", TestBrokerKind.Embedded)]
    [InlineData("embedded", TestBrokerKind.Embedded)]
    [InlineData(" Container ", TestBrokerKind.Container)]
    public void The_broker_kind_comes_from_the_environment_value(string? value, TestBrokerKind expected) =>
        Assert.Equal(expected, TestBrokerFixture.For(value, null).Kind);

    [Fact]
    public void An_unknown_kind_or_an_external_broker_without_an_address_is_a_configuration_error()
    {
        var unknown = Assert.Throws<InvalidOperationException>(() => TestBrokerFixture.For("kraft", null));
        Assert.Contains("MESSAGING_TEST_BROKER", unknown.Message, StringComparison.Ordinal);
        var external = Assert.Throws<InvalidOperationException>(() => TestBrokerFixture.For("external", " "));
        Assert.Contains("MESSAGING_BOOTSTRAP_SERVERS", external.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embedded_brokers_inject_faults_and_are_the_size_asked_for()
    {
        await using var fixture = TestBrokerFixture.For("embedded", null);
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(TestBrokerKind.Embedded, broker.Kind);
        Assert.Equal(3, broker.BrokerCount);
        Assert.Equal(3, broker.BootstrapServers.Split(',').Length);
        Assert.NotNull(broker.Faults);
    }

    [Fact]
    public async Task A_fault_injecting_test_on_a_shared_broker_is_skipped_with_the_reason()
    {
        await using var fixture = TestBrokerFixture.For("external", "127.0.0.1:1");
        var (broker, reason) = await fixture.TryAcquireAsync(1, faultInjection: true, TestContext.Current.CancellationToken);
        Assert.Null(broker);
        Assert.Contains("only the embedded broker", reason, StringComparison.Ordinal);
        Assert.Contains("MESSAGING_TEST_BROKER=external", reason, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Container_mode_without_a_docker_daemon_skips_with_the_reason()
    {
        await using var fixture = TestBrokerFixture.For("container", null);
        var (broker, reason) = await fixture.TryAcquireAsync(1, faultInjection: false, TestContext.Current.CancellationToken);
        if (broker is not null)
        {
            Assert.Equal(TestBrokerKind.Container, broker.Kind); // a daemon answered: a real Kafka started
            return;
        }

        Assert.Contains("no Docker daemon answered", reason, StringComparison.Ordinal);

        // Every later test asking for the broker gets the same reason, without trying Docker again.
        var (again, sameReason) = await fixture.TryAcquireAsync(1, faultInjection: false, TestContext.Current.CancellationToken);
        Assert.Null(again);
        Assert.Equal(reason, sameReason);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_container_whose_start_fails_is_disposed_and_the_error_reaches_the_test()
    {
        var ct = TestContext.Current.CancellationToken;
        var built = new List<KafkaContainer>();
        await using var fixture = TestBrokerFixture.For("container", null, image =>
        {
            // A Docker endpoint nothing listens on: the container is built, and its start fails.
            var container = new KafkaBuilder(image).WithDockerEndpoint("tcp://127.0.0.1:1").WithCleanUp(false)
                .WithLogger(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).Build();
            built.Add(container);
            return container;
        });

        var failure = await Record.ExceptionAsync(() => fixture.TryAcquireAsync(1, faultInjection: false, ct));
        Assert.NotNull(failure);
        Assert.IsNotType<OperationCanceledException>(failure, exactMatch: false);

        // A disposed container refuses to start again; one left undisposed would try Docker once more.
        var container = Assert.Single(built);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => container.StartAsync(ct));
    }
}
