using DotNet.Testcontainers.Builders;
using Testcontainers.Kafka;
using Xunit;

namespace Messaging.Testing.Brokers;

/// <summary>
/// The xunit fixture integration tests get their broker from. <c>MESSAGING_TEST_BROKER</c> selects it:
/// <c>embedded</c> (default) gives each test its own <see cref="EmbeddedKafkaCluster"/>; <c>container</c> starts one
/// Apache Kafka in Docker for the whole run (image from <c>MESSAGING_KAFKA_IMAGE</c>, default
/// <see cref="DefaultKafkaImage"/>); <c>external</c> uses the cluster at <c>MESSAGING_BOOTSTRAP_SERVERS</c>.
/// </summary>
/// <remarks>
/// Register it once per test assembly with <c>[assembly: AssemblyFixture(typeof(TestBrokerFixture))]</c> and take
/// it in a test class's constructor. A test that needs fault injection says so in <see cref="AcquireAsync"/>
/// and is reported as skipped, with the reason, on brokers that cannot inject faults; with <c>container</c>
/// and no Docker daemon answering, every test that asks for a broker is skipped with that reason.
/// </remarks>
public sealed class TestBrokerFixture : IAsyncLifetime
{
    /// <summary>The environment variable that selects the broker kind.</summary>
    public const string BrokerVariable = "MESSAGING_TEST_BROKER";

    /// <summary>The environment variable holding an external cluster's bootstrap servers.</summary>
    public const string BootstrapVariable = "MESSAGING_BOOTSTRAP_SERVERS";

    /// <summary>The environment variable overriding the container image.</summary>
    public const string ImageVariable = "MESSAGING_KAFKA_IMAGE";

    /// <summary>The Apache Kafka image the container mode runs by default (KRaft, single node).</summary>
    public const string DefaultKafkaImage = "apache/kafka:3.9.1";

    private readonly SemaphoreSlim _sharedGate = new(1, 1);
    private readonly Func<string, KafkaContainer> _createContainer;
    private KafkaContainer? _container;
    private SharedTestBroker? _shared;
    private string? _unavailableReason;

    /// <summary>Reads the selection from the environment.</summary>
    public TestBrokerFixture()
        : this(Environment.GetEnvironmentVariable(BrokerVariable), Environment.GetEnvironmentVariable(BootstrapVariable))
    {
    }

    /// <summary>A fixture for an explicit selection, as if the environment said so (for tests of the fixture itself and tools).</summary>
    public static TestBrokerFixture For(string? kind, string? bootstrapServers) => new(kind, bootstrapServers);

    /// <summary>Like <see cref="For(string?, string?)"/>, with the container mode's container built by <paramref name="createContainer"/> from the image name.</summary>
    internal static TestBrokerFixture For(string? kind, string? bootstrapServers, Func<string, KafkaContainer> createContainer) =>
        new(kind, bootstrapServers, createContainer);

    private TestBrokerFixture(string? kind, string? bootstrapServers, Func<string, KafkaContainer>? createContainer = null)
    {
        _createContainer = createContainer ?? CreateContainer;
        Kind = Parse(kind);
        ExternalBootstrapServers = bootstrapServers;
        if (Kind == TestBrokerKind.External && string.IsNullOrWhiteSpace(bootstrapServers))
        {
            throw new InvalidOperationException(
                $"{BrokerVariable}=external needs {BootstrapVariable}=host:port[,host:port...] naming the cluster to test against.");
        }
    }

    /// <summary>The kind of broker this run uses.</summary>
    public TestBrokerKind Kind { get; }

    /// <summary>The external cluster's bootstrap servers, when <see cref="Kind"/> is <see cref="TestBrokerKind.External"/>.</summary>
    public string? ExternalBootstrapServers { get; }

    /// <summary>A topic name no other test uses: <paramref name="prefix"/> plus a random suffix.</summary>
    public static string UniqueTopicName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>
    /// Gets a broker for one test; dispose it when the test ends. For the embedded kind this starts a cluster of
    /// <paramref name="brokers"/> brokers. Shared kinds have the brokers they have: a test that needs an exact
    /// count to inject faults into says <paramref name="faultInjection"/> and is skipped there.
    /// </summary>
    /// <exception cref="Exception">The test is skipped (xunit's skip exception) when the broker it needs is unavailable.</exception>
    public async Task<ITestBroker> AcquireAsync(int brokers = 1, bool faultInjection = false, CancellationToken cancellationToken = default)
    {
        var (broker, skipReason) = await TryAcquireAsync(brokers, faultInjection, cancellationToken).ConfigureAwait(false);
        if (broker is null)
        {
            Assert.Skip(skipReason!);
        }

        return broker;
    }

    /// <summary>Like <see cref="AcquireAsync"/>, but says why instead of skipping the calling test.</summary>
    internal async Task<(ITestBroker? Broker, string? SkipReason)> TryAcquireAsync(int brokers, bool faultInjection, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        if (Kind == TestBrokerKind.Embedded)
        {
            return (new EmbeddedTestBroker(EmbeddedKafkaCluster.Start(brokers)), null);
        }

        if (faultInjection)
        {
            return (null, $"This test injects faults, which only the embedded broker can do; {BrokerVariable}={Kind.ToString().ToLowerInvariant()}.");
        }

        return await GetSharedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync().ConfigureAwait(false);
            _container = null;
        }

        _sharedGate.Dispose();
    }

    private async Task<(ITestBroker? Broker, string? SkipReason)> GetSharedAsync(CancellationToken cancellationToken)
    {
        await _sharedGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_shared is null && _unavailableReason is null)
            {
                if (Kind == TestBrokerKind.External)
                {
                    var servers = ExternalBootstrapServers!;
                    var brokers = await SharedTestBroker.CountBrokersAsync(servers, cancellationToken).ConfigureAwait(false);
                    _shared = new SharedTestBroker(TestBrokerKind.External, servers, brokers);
                }
                else
                {
                    await StartContainerAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _sharedGate.Release();
        }

        return _unavailableReason is null ? (_shared, null) : (null, _unavailableReason);
    }

    private async Task StartContainerAsync(CancellationToken cancellationToken)
    {
        var image = Environment.GetEnvironmentVariable(ImageVariable);
        if (string.IsNullOrWhiteSpace(image))
        {
            image = DefaultKafkaImage;
        }

        try
        {
            _container = _createContainer(image);
            await _container.StartAsync(cancellationToken).ConfigureAwait(false);
            _shared = new SharedTestBroker(TestBrokerKind.Container, _container.GetBootstrapAddress(), brokerCount: 1);
        }
        catch (Exception ex)
        {
            // A container that did not start is removed now: the next test builds a new one, which would otherwise
            // replace it here and leave it behind (created, perhaps running) until the process ends.
            if (_container is not null)
            {
                await _container.DisposeAsync().ConfigureAwait(false);
                _container = null;
            }

            if (ex is not DockerUnavailableException)
            {
                throw;
            }

            // No daemon answers: the container tests cannot run here, which is a skip, not a failure.
            _unavailableReason = $"{BrokerVariable}=container, but no Docker daemon answered ({ex.Message.Split('\n')[0].Trim()}).";
        }
    }

    private static KafkaContainer CreateContainer(string image) =>
        new KafkaBuilder(image).WithVendor(KafkaVendor.ApacheSoftwareFoundation).Build();

    private static TestBrokerKind Parse(string? kind) => kind?.Trim().ToLowerInvariant() switch
    {
        null or "" or "embedded" => TestBrokerKind.Embedded,
        "container" => TestBrokerKind.Container,
        "external" => TestBrokerKind.External,
        _ => throw new InvalidOperationException($"{BrokerVariable}='{kind}' is not a broker kind: use embedded (default), container or external."),
    };
}
