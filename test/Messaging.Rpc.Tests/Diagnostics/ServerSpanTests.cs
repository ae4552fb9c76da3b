using System.Collections.Concurrent;
using System.Diagnostics;
using Messaging.Rpc.Tests.Server;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Diagnostics;

/// <summary>The server's span for a request is the child of the caller's client span (through the request's traceparent).</summary>
[Collection(SpanCollection.Name)]
public sealed class ServerSpanTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index);

    [Fact(Timeout = 90_000)]
    public async Task The_server_span_is_the_child_of_the_client_span_and_carries_the_outcome()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RpcTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem(RpcTelemetry.ServiceTag) as string == requests)
                {
                    spans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "traced"));
        server.Map<Ping, Ping>("echo", (ping, _) => ValueTask.FromResult(ping))
              .Map<Ping, Ping>("fail", (_, _) => throw new RpcException(RpcStatus.NotFound, "none"));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        await client.CallAsync<Ping, Ping>(requests, "echo", new Ping(1), default, ct);
        await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Ping, Ping>(requests, "fail", new Ping(2), default, ct).AsTask());
        await Conditions.WaitUntilAsync(() => spans.Count(s => s.Kind == ActivityKind.Server) == 2, TimeSpan.FromSeconds(10), "two server spans", ct);

        foreach (var method in new[] { "echo", "fail" })
        {
            var clientSpan = Assert.Single(spans, s => s.Kind == ActivityKind.Client && (string?)s.GetTagItem(RpcTelemetry.MethodTag) == method);
            var serverSpan = Assert.Single(spans, s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem(RpcTelemetry.MethodTag) == method);
            Assert.Equal(clientSpan.TraceId, serverSpan.TraceId);
            Assert.Equal(clientSpan.SpanId, serverSpan.ParentSpanId);
        }

        var failed = Assert.Single(spans, s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem(RpcTelemetry.MethodTag) == "fail");
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("NotFound", failed.GetTagItem(RpcTelemetry.StatusTag));
    }
}

/// <summary>Span tests listen process-wide: one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SpanCollection
{
    public const string Name = "RpcSpans";
}
