using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Messaging.Rpc.Tests.Server;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Diagnostics;

/// <summary>The server's instruments on the <c>Messaging.Rpc</c> meter: requests and their duration by method and status (unknown names as <c>_OTHER</c>).</summary>
public sealed class ServerMetricsTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index);

    [Fact(Timeout = 120_000)]
    public async Task The_server_reports_each_request_by_method_and_status_with_its_duration()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RpcTelemetry.MeterName && instrument.Name.Contains("server", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();

        var runs = 0;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        server.Map<Ping, Ping>("echo", (ping, _) =>
            {
                Interlocked.Increment(ref runs);
                return ValueTask.FromResult(ping);
            })
            .Map<Ping, Ping>("fail", (_, _) => throw new InvalidOperationException("no"));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        await client.CallAsync<Ping, Ping>(requests, "echo", new Ping(1), default, ct);
        await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Ping, Ping>(requests, "fail", new Ping(2), default, ct).AsTask());
        await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Ping, Ping>(requests, "nope-" + Guid.NewGuid(), new Ping(3), default, ct).AsTask());

        // The server records a request once its reply is acknowledged, which may come after the caller has read that reply.
        await Conditions.WaitUntilAsync(() => Ours().Count(m => m.Instrument is "messaging.rpc.server.requests" or "rpc.server.duration") >= 6, TimeSpan.FromSeconds(30),
            "the server recording the three requests and their durations", ct);
        var ours = Ours();
        var counted = ours.Where(m => m.Instrument == "messaging.rpc.server.requests")
            .Select(m => ((string?)m.Tags[RpcTelemetry.MethodTag], (string?)m.Tags[RpcTelemetry.StatusTag])).Order().ToArray();
        Assert.Equal([("_OTHER", "Unimplemented"), ("echo", "Ok"), ("fail", "Internal")], counted);
        var durations = ours.Where(m => m.Instrument == "rpc.server.duration").ToArray();
        Assert.Equal(3, durations.Length);
        Assert.All(durations, d => Assert.True(d.Value >= 0));
        Assert.Equal(1, runs);

        (string Instrument, double Value, Dictionary<string, object?> Tags)[] Ours() =>
            measurements.Where(m => m.Tags.TryGetValue(RpcTelemetry.ServiceTag, out var s) && (string?)s == requests).ToArray();

        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            measurements.Enqueue((instrument.Name, value, copy));
        }
    }
}
