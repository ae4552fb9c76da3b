using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Diagnostics;

/// <summary>Client spans with W3C trace context in the request headers, and the RPC meter's instruments.</summary>
public sealed class TelemetryTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index);

    [Fact(Timeout = 60_000)]
    public async Task A_call_is_a_client_span_and_its_request_carries_the_span_as_traceparent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RpcTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem(RpcTelemetry.ServiceTag) as string == rpc.Requests)
                {
                    spans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1), default, ct);
        await Assert.ThrowsAsync<RpcException>(() => rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "fail", new Ping(2), default, ct).AsTask());

        var all = spans.ToArray();
        Assert.Equal(2, all.Length);
        var (ok, failed) = (all[0], all[1]);
        Assert.Equal(ActivityKind.Client, ok.Kind);
        Assert.Equal(rpc.Requests + "/echo", ok.DisplayName);
        Assert.Equal("echo", ok.GetTagItem(RpcTelemetry.MethodTag));
        Assert.Equal("kafka", ok.GetTagItem(RpcTelemetry.SystemTag));
        Assert.Equal("Ok", ok.GetTagItem(RpcTelemetry.StatusTag));
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("Internal", failed.GetTagItem(RpcTelemetry.StatusTag));

        var sent = rpc.Replier.Headers.ToArray();
        Assert.Equal(ok.Id, Encoding.UTF8.GetString(sent[0][RpcTelemetry.TraceParentHeader]));
        Assert.Equal(failed.Id, Encoding.UTF8.GetString(sent[1][RpcTelemetry.TraceParentHeader]));
        Assert.Equal(ok.GetTagItem("messaging.message.conversation_id"), ToGuid(sent[0]["kafka_correlationId"]).ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_a_listener_the_caller_s_own_span_travels_and_no_span_is_made()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        using var own = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        own.TraceStateString = "vendor=1";

        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1), default, ct);

        Assert.True(rpc.Replier.Headers.TryPeek(out var headers));
        var traceparent = Encoding.UTF8.GetString(headers[RpcTelemetry.TraceParentHeader]);
        Assert.True(ActivityContext.TryParse(traceparent, Encoding.UTF8.GetString(headers[RpcTelemetry.TraceStateHeader]), out var parsed));
        Assert.Equal(own.TraceId, parsed.TraceId);
        Assert.Equal("vendor=1", parsed.TraceState);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_meter_reports_duration_and_calls_by_method_and_status_and_pending_calls()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RpcTelemetry.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();

        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1), default, ct);
        await Assert.ThrowsAsync<RpcException>(() => rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "fail", new Ping(2), default, ct).AsTask());

        var ours = measurements.Where(m => m.Tags.TryGetValue(RpcTelemetry.ServiceTag, out var s) && (string?)s == rpc.Requests).ToArray();
        var durations = ours.Where(m => m.Instrument == "rpc.client.duration").ToArray();
        Assert.Equal(2, durations.Length);
        Assert.Contains(durations, m => (string?)m.Tags[RpcTelemetry.MethodTag] == "echo" && (string?)m.Tags[RpcTelemetry.StatusTag] == "Ok" && m.Value > 0);
        Assert.Contains(durations, m => (string?)m.Tags[RpcTelemetry.MethodTag] == "fail" && (string?)m.Tags[RpcTelemetry.StatusTag] == "Internal");
        Assert.Equal(2, ours.Count(m => m.Instrument == "messaging.rpc.client.calls"));
        // Pending calls went up and back down (other tests' calls share the process-wide counter, so per-sign counts only).
        Assert.True(measurements.Count(m => m.Instrument == "messaging.rpc.client.pending_calls" && m.Value > 0) >= 2, "pending calls went up for both calls");
        Assert.True(measurements.Count(m => m.Instrument == "messaging.rpc.client.pending_calls" && m.Value < 0) >= 2, "pending calls went down for both calls");

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

    private static Guid ToGuid(byte[] bytes) => new(bytes, bigEndian: true);
}
