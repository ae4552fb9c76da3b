using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;

namespace Messaging.Benchmarks;

/// <summary>
/// Round trips of a small request (Metadata with no topics) on one connection to the embedded broker, pipelined at
/// <see cref="Depth"/>: <see cref="Depth"/> requests are issued at once and all awaited, until
/// <see cref="RequestsPerInvoke"/> were sent, so every number is per request whatever the depth.
/// </summary>
/// <remarks>
/// <see cref="DecodeOnly"/> decodes a response captured from the same broker: its allocation is the response object
/// itself, so the round trip's allocation minus it is what the connection costs per request. (It does not depend on
/// <see cref="Depth"/>; BenchmarkDotNet runs it once per value anyway.)
/// </remarks>
[MemoryDiagnoser]
public class ConnectionRoundTripBenchmarks
{
    /// <summary>Requests per benchmark invocation: a multiple of every depth.</summary>
    public const int RequestsPerInvoke = 64;

    private readonly MetadataRequest _request = new() { Topics = [], AllowAutoTopicCreation = false };
    private EmbeddedKafkaCluster _cluster = null!;
    private BrokerConnection _connection = null!;
    private ValueTask<MetadataResponse>[] _inFlight = [];
    private ResponseFrame _captured;
    private short _metadataVersion;

    /// <summary>Requests in flight at once on the connection.</summary>
    [Params(1, 8, 64)]
    public int Depth { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _cluster = EmbeddedKafkaCluster.Start(1);
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = _cluster.BootstrapServers,
            ClientId = "benchmarks",
            MaxInFlightRequestsPerConnection = 64,
        });
        _connection = BrokerConnection.ConnectAsync(BrokerEndpoint.ParseList(_cluster.BootstrapServers)[0], settings, CancellationToken.None)
            .GetAwaiter().GetResult();
        _inFlight = new ValueTask<MetadataResponse>[Depth];

        // A real response frame, for the decode-only baseline.
        _metadataVersion = _connection.ApiVersions.VersionFor(ApiKey.Metadata);
        _captured = _connection.SendAsync(_request, _metadataVersion, settings.RequestTimeout, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _captured.Dispose();
        _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _cluster.Dispose();
    }

    [Benchmark(OperationsPerInvoke = RequestsPerInvoke)]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask RoundTrip()
    {
        var inFlight = _inFlight;
        for (var sent = 0; sent < RequestsPerInvoke; sent += inFlight.Length)
        {
            for (var i = 0; i < inFlight.Length; i++)
            {
#pragma warning disable CA2012 // Stored to pipeline without a Task per request; each is awaited exactly once below.
                inFlight[i] = _connection.SendAsync<MetadataRequest, MetadataResponse>(_request);
#pragma warning restore CA2012
            }

            for (var i = 0; i < inFlight.Length; i++)
            {
                await inFlight[i].ConfigureAwait(false);
                inFlight[i] = default;
            }
        }
    }

    [Benchmark]
    public int DecodeOnly() => ResponseDecoder.Decode<MetadataResponse>(_captured, _metadataVersion, ProtocolLimits.Default).Topics.Length;
}
