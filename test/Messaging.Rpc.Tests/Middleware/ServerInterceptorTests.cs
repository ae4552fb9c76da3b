using System.Text;
using Messaging.Rpc.Tests.Server;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Middleware;

/// <summary>
/// Server interceptors (<see cref="RpcServerOptions.Interceptors"/>) around handlers, through the broker: their order,
/// what they see of the request, what they may change, short-circuiting; and the request's call context made current
/// so a handler's outgoing calls inherit its deadline.
/// </summary>
public sealed class ServerInterceptorTests(TestBrokerFixture fixture)
{
    public sealed record Order(string Item, int Quantity);

    public sealed record Receipt(string Text);

    /// <summary>Logs what it sees of each call, then passes it on; an outcome out of the chain is logged too.</summary>
    private sealed class Recording(string name, List<string> log) : RpcInterceptor
    {
        public override async ValueTask<TResponse> InterceptHandlerAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            Add(name + " in " + context.Method + " side=" + context.Side + " current=" + ReferenceEquals(RpcCallContext.Current, context));
            try
            {
                var response = await continuation(context);
                Add(name + " out");
                return response;
            }
            catch (RpcException e)
            {
                Add(name + " saw " + e.Status);
                throw;
            }
        }

        private void Add(string line)
        {
            lock (log)
            {
                log.Add(line);
            }
        }
    }

    /// <summary>Reads the tenant header; refuses calls without one, rewrites the request and the reply of others.</summary>
    private sealed class Tenancy : RpcInterceptor
    {
        public override async ValueTask<TResponse> InterceptHandlerAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            var tenant = context.Options.Headers?.Where(h => h.Key == "x-tenant").Select(h => (RecordHeader?)h).FirstOrDefault();
            if (tenant is not { } found)
            {
                throw new RpcException(RpcStatus.PermissionDenied, "no tenant");
            }

            if (context is RpcCallContext<Order> order)
            {
                order.Request = order.Request with { Item = Encoding.UTF8.GetString(found.Value.Span) + "/" + order.Request.Item };
            }

            var response = await continuation(context);
            return response is Receipt receipt ? (TResponse)(object)(receipt with { Text = receipt.Text + " (checked)" }) : response;
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Server_interceptors_run_in_order_see_the_request_and_may_change_it_its_reply_or_refuse_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var log = new List<string>();
        var handled = new List<(string Item, Guid CorrelationId, DateTimeOffset? Deadline)>();
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s",
            o => o.Interceptors = [new Recording("outer", log), new Tenancy(), new Recording("inner", log)]));
        server.Map<Order, Receipt>("Place", (order, context) =>
        {
            lock (handled)
            {
                handled.Add((order.Item, context.CorrelationId, context.Deadline));
            }

            return ValueTask.FromResult(new Receipt(order.Quantity + " x " + order.Item));
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        var deadline = DateTimeOffset.UtcNow.AddSeconds(40);
        var receipt = await client.CallAsync<Order, Receipt>(requests, "Place", new Order("tea", 2),
            new RpcCallOptions { Deadline = deadline, Headers = [new RecordHeader("x-tenant", "blue"u8.ToArray())] }, ct);
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Order, Receipt>(requests, "Place", new Order("coffee", 1), default, ct).AsTask());

        Assert.Equal("2 x blue/tea (checked)", receipt.Text);
        Assert.Equal(RpcStatus.PermissionDenied, refused.Status);
        Assert.Equal("no tenant", refused.Detail);
        var only = Assert.Single(handled); // the refused call never reached the handler
        Assert.Equal("blue/tea", only.Item);
        Assert.NotEqual(Guid.Empty, only.CorrelationId);
        Assert.Equal(deadline.ToUnixTimeMilliseconds(), only.Deadline?.ToUnixTimeMilliseconds());
        Assert.Equal(
            [
                "outer in Place side=Server current=True", "inner in Place side=Server current=True", "inner out", "outer out",
                "outer in Place side=Server current=True", "outer saw PermissionDenied",
            ],
            log);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_handler_calling_another_service_passes_on_its_deadline_and_without_propagation_nothing_is_current()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var downstreamDeadlines = new List<DateTimeOffset?>();
        await using var downstreamClient = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies,
            o => { o.Interceptors = [new RpcDeadlinePropagationInterceptor()]; o.ReplyPartition = 1; }));
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        server.Map<Order, Receipt>("Front", async (order, context) =>
            {
                // No deadline of its own: it inherits the front call's.
                var inner = await downstreamClient.CallAsync<Order, Receipt>(requests, "Back", order, default, context.CancellationToken);
                return new Receipt("front:" + inner.Text);
            })
            .Map<Order, Receipt>("Back", (order, context) =>
            {
                lock (downstreamDeadlines)
                {
                    downstreamDeadlines.Add(context.Deadline);
                }

                return ValueTask.FromResult(new Receipt("back:" + order.Item));
            });
        var currents = new List<bool>();
        var plainRequests = TestBrokerFixture.UniqueTopicName("rpc-plain");
        await broker.CreateTopicAsync(plainRequests, 1, 1, ct);
        await using var plain = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, plainRequests, ServerTestSupport.NewGroup(), "p",
            o => o.PropagateCallContext = false));
        plain.Map<Order, Receipt>("Probe", (order, _) =>
        {
            lock (currents)
            {
                currents.Add(RpcCallContext.Current is not null);
            }

            return ValueTask.FromResult(new Receipt(order.Item));
        });
        await server.StartAsync(ct);
        await plain.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await Conditions.WaitUntilAsync(() => plain.Assignment.Count > 0, TimeSpan.FromSeconds(60), "the plain server assigned", ct);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.ReplyPartition = 0));

        var deadline = DateTimeOffset.UtcNow.AddSeconds(25);
        var receipt = await client.CallAsync<Order, Receipt>(requests, "Front", new Order("tea", 1), new RpcCallOptions { Deadline = deadline }, ct);
        var probed = await client.CallAsync<Order, Receipt>(plainRequests, "Probe", new Order("x", 1), default, ct);

        Assert.Equal("front:back:tea", receipt.Text);
        Assert.Equal([deadline.ToUnixTimeMilliseconds()], downstreamDeadlines.Select(d => d?.ToUnixTimeMilliseconds()));
        Assert.Equal("x", probed.Text);
        Assert.Equal([false], currents);
    }
}
