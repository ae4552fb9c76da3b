using System.Buffers;
using System.Reflection;
using Messaging.Connection;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A response whose caller cancelled is read and dropped, but the throttle it carries (KIP-219) still mutes the
/// connection: the broker holds the client to it whether or not anyone waits for the answer.
/// </summary>
public sealed class CancelledThrottleTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Theory(Timeout = 10_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_throttle_of_a_response_whose_caller_cancelled_mutes_the_connection(bool rawFrame)
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker
        {
            Hold = static key => key == ApiKey.Metadata,
            OnMetadata = static (_, _) => new MetadataResponse { ThrottleTimeMs = 60_000, Brokers = [], ControllerId = 1, Topics = [] },
        };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            RequestTimeout = TimeSpan.FromMinutes(5), // the mute is capped at the request timeout
        });
        var connection = await BrokerConnection.ConnectAsync(Broker, settings, ct);
        await using var _ = connection;

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var request = new MetadataRequest { Topics = [] };
        Task sending = rawFrame
            ? connection.SendAsync(request, connection.ApiVersions.VersionFor(ApiKey.Metadata), settings.RequestTimeout, cancel.Token).AsTask()
            : connection.SendAsync<MetadataRequest, MetadataResponse>(request, cancel.Token).AsTask();
        var transport = Assert.Single(broker.Opened);
        await Eventually.TrueAsync(() => !transport.Held.IsEmpty, TimeSpan.FromSeconds(5), "the request reaching the broker", ct);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);

        // The broker answers, throttling the client for a minute.
        transport.AnswerHeld();
        await Eventually.TrueAsync(() => connection.PendingCount == 0, TimeSpan.FromSeconds(5), "the late response being read", ct);
        await Eventually.TrueAsync(() => connection.MutedUntil > settings.Clock.Now, TimeSpan.FromSeconds(5), "the late response's throttle muting the connection", ct);
        Assert.True(connection.IsOpen);
    }

    [Fact]
    public void The_throttle_of_every_throttled_response_this_client_speaks_is_found_in_a_dropped_body()
    {
        var types = typeof(MetadataResponse).Assembly.GetTypes()
            .Where(t => typeof(IThrottledResponse).IsAssignableFrom(t) && t.IsClass && !t.IsAbstract)
            .ToList();
        Assert.NotEmpty(types);
        foreach (var type in types)
        {
            var found = (int)typeof(CancelledThrottleTests).GetMethod(nameof(ThrottleFoundIn), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(type).Invoke(null, null)!;
            Assert.True(found == 1234, type.Name + ": a dropped response's throttle read as " + found + ", not 1234");
        }
    }

    /// <summary>Encodes a <typeparamref name="TResponse"/> throttled 1234 ms at the newest version this client speaks, and reads it back as a dropped response.</summary>
    private static int ThrottleFoundIn<TResponse>()
        where TResponse : class, IKafkaResponse<TResponse>, IThrottledResponse, new()
    {
        var response = new TResponse();
        typeof(TResponse).GetProperty(nameof(IThrottledResponse.ThrottleTimeMs))!.SetValue(response, 1234);
        var version = TResponse.MaxVersion;
        using var output = new ContiguousBufferWriter();
        KafkaFrames.WriteResponse(output, response, version, correlationId: 7);
        var length = output.WrittenMemory.Length - 4;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        output.WrittenMemory.Span[4..].CopyTo(buffer);
        using var frame = ResponseFrame.Wrap(buffer, length);
        return DroppedResponseThrottle.Read(TResponse.ApiKey, version, frame, ProtocolLimits.Default);
    }
}
