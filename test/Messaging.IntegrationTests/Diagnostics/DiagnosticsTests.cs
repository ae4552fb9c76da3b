using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Messaging.Cluster;
using Messaging.Diagnostics;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Diagnostics;

/// <summary>The client says what it does: log events through the configured logger factory, counters on the Messaging.Kafka meter.</summary>
public sealed class DiagnosticsTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Connects_disconnects_backoff_and_metadata_changes_are_logged()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 2, faultInjection: true, cancellationToken: ct);
        var logs = new RecordingLoggerFactory();
        var time = new FakeTimeProvider();
        await using (var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers, LoggerFactory = logs, TimeProvider = time }))
        {
            await client.Metadata.RefreshAsync(ct);
            var connection = await client.Connections.GetAsync(2, ct);
            broker.Faults!.SetBrokerDown(2);
            await connection.Closed.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await AssertACallAfterTheBackoffConnectsAsync(client, time, 2, ct); // first backoff: 50 ms ± 20%
            broker.Faults.SetBrokerUp(2);
        }

        var events = logs.Events.ToArray();
        Assert.Contains(events, e => e.Event.Id == 1 && e.Message.Contains("Connected to", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Event.Id == 2 && e.Level == LogLevel.Information && e.Message.Contains("broker 2", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Event.Id == 3 && e.Level == LogLevel.Warning && e.Message.Contains("next attempt in", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Event.Id == 5 && e.Message.Contains("2 brokers", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Event.Id == 4 && e.Message.Contains("ApiVersions v4", StringComparison.Ordinal)); // the embedded broker's fallback
    }

    [Fact(Timeout = 60_000)]
    public async Task Connections_requests_latency_bytes_and_reconnects_are_counted_on_the_meter()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var measurements = new ConcurrentQueue<(string Instrument, double Value, string? Api, string? Client)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == KafkaTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => measurements.Enqueue((i.Name, v, Tag(tags, KafkaTelemetry.ApiTag), Tag(tags, KafkaTelemetry.ClientIdTag))));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, Tag(tags, KafkaTelemetry.ApiTag), Tag(tags, KafkaTelemetry.ClientIdTag))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, Tag(tags, KafkaTelemetry.ApiTag), Tag(tags, KafkaTelemetry.ClientIdTag))));
        listener.Start();

        var time = new FakeTimeProvider();
        await using (var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers, ClientId = "metered-client", ReconnectBackoff = TimeSpan.FromMilliseconds(20), TimeProvider = time }))
        {
            await client.Metadata.RefreshAsync(ct);
            time.Advance(TimeSpan.FromSeconds(1)); // past the refresh spacing: the second refresh goes out at once
            await client.Metadata.RefreshAsync(ct);
            var connection = await client.Connections.GetAsync(1, ct);
            broker.Faults!.SetBrokerDown(1);
            await connection.Closed.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await AssertACallAfterTheBackoffConnectsAsync(client, time, 1, ct); // backoff: 20 ms ± 20%
            broker.Faults.SetBrokerUp(1);
        }

        listener.Dispose();
        var all = measurements.ToArray();
        Assert.Contains(all, m => m.Instrument == "messaging.kafka.connections" && m.Value == 1);
        Assert.Contains(all, m => m.Instrument == "messaging.kafka.connections" && m.Value == -1);
        Assert.Contains(all, m => m.Instrument == "messaging.kafka.requests.in_flight" && m.Value == 1);
        Assert.Contains(all, m => m.Instrument == "messaging.kafka.request.duration" && m.Api == "Metadata" && m.Value > 0);
        Assert.Contains(all, m => m.Instrument == "messaging.kafka.bytes.sent" && m.Api == "Metadata" && m.Value > 0);
        Assert.Contains(all, m => m.Instrument == "messaging.kafka.bytes.received" && m.Value > 0);
        Assert.Contains(all, m => m.Instrument == "messaging.kafka.reconnects" && m.Value == 1); // the attempt after the loss

        // Every measurement names the client it came from (other tests' clients run in parallel, with other ids).
        Assert.All(all, m => Assert.NotNull(m.Client));
        foreach (var instrument in new[] { "messaging.kafka.connections", "messaging.kafka.requests.in_flight", "messaging.kafka.request.duration", "messaging.kafka.bytes.sent", "messaging.kafka.bytes.received", "messaging.kafka.reconnects" })
        {
            Assert.Contains(all, m => m.Instrument == instrument && m.Client == "metered-client");
        }
    }

    [Fact]
    public void The_public_meter_names_are_the_ones_the_meters_use()
    {
        Assert.Equal(KafkaTelemetry.MeterName, Messaging.Diagnostics.KafkaMetrics.MeterName);
        Assert.Equal(KafkaTelemetry.PoolsMeterName, Messaging.Buffers.PoolMetrics.MeterName);
    }

    /// <summary>
    /// Past the reconnect backoff (the fake clock is advanced beyond it) a call tries to connect again. The first call
    /// may still join an attempt that began as the connection was lost (the metadata refresher reconnects too), so
    /// call until an attempt is counted, within a deadline.
    /// </summary>
    private static async Task AssertACallAfterTheBackoffConnectsAsync(ClusterClient client, FakeTimeProvider time, int nodeId, CancellationToken ct)
    {
        var attempts = client.Connections.ConnectAttempts;
        var deadline = TimeProvider.System.GetTimestamp() + TimeProvider.System.TimestampFrequency * 10;
        while (client.Connections.ConnectAttempts <= attempts && TimeProvider.System.GetTimestamp() < deadline)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Assert.ThrowsAnyAsync<Messaging.KafkaException>(async () => await client.Connections.GetAsync(nodeId, ct));
        }

        Assert.True(client.Connections.ConnectAttempts > attempts, "no call after the backoff tried to connect");
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}
