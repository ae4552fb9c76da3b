using System.Collections.Concurrent;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// A broker restart under RPC load costs seconds: the calls it catches end with a typed status by their deadlines,
/// and once it is back every call succeeds well inside a short deadline — no producer delivery timeout, no consumer
/// stuck on a dead connection, no reply lost to a position skipped while its leader was away.
/// </summary>
public sealed class BrokerRestartTests(TestBrokerFixture fixture)
{
    public sealed record Call(int Worker, int Index, string Value);

    [Fact(Timeout = 180_000)]
    public async Task A_restarted_broker_leading_request_and_reply_partitions_costs_only_the_calls_it_caught()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        var replies = TestBrokerFixture.UniqueTopicName("rpc-replies");
        await broker.CreateTopicAsync(requests, ServerTestSupport.RequestPartitions, 1, ct);
        await broker.CreateTopicAsync(replies, 2, 1, ct);
        var group = ServerTestSupport.NewGroup();

        // Broker 2 leads half the request partitions and the client's reply partition; the group's coordinator stays
        // on broker 1 (a coordinator move is covered by the group tests).
        const int restarted = 2;
        faults.SetGroupCoordinator(group, 1);
        faults.SetPartitionLeader(requests, 0, restarted);
        faults.SetPartitionLeader(requests, 1, restarted);
        faults.SetPartitionLeader(requests, 2, 1);
        faults.SetPartitionLeader(requests, 3, 3);
        faults.SetPartitionLeader(replies, 0, restarted);
        faults.SetPartitionLeader(replies, 1, 3);

        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, group, "s"));
        server.Map<Call, Call>("Echo", (call, _) => ValueTask.FromResult(call));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.ReplyPartition = 0));
        await client.StartAsync(ct);

        var timeout = TimeSpan.FromSeconds(2);
        var outcomes = new ConcurrentQueue<RpcStatus>();
        var ok = 0;
        using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var load = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stopLoad.IsCancellationRequested; i++)
            {
                var call = new Call(worker, i, worker + "-" + i);
                try
                {
                    // Keyed, so the calls spread over every request partition, the restarted broker's included. A
                    // call never outlives its deadline by more than the client's sweep (bounded here to be sure).
                    var answer = await client.CallAsync<Call, Call>(requests, "Echo", call,
                            new RpcCallOptions { Timeout = timeout, Key = System.Text.Encoding.UTF8.GetBytes(call.Value) }, ct)
                        .AsTask().WaitAsync(timeout + TimeSpan.FromSeconds(5), ct);
                    Assert.Equal(call, answer);
                    outcomes.Enqueue(RpcStatus.Ok);
                    Interlocked.Increment(ref ok);
                }
                catch (RpcException ex)
                {
                    outcomes.Enqueue(ex.Status);
                }
            }
        }, ct)).ToList();

        await Conditions.WaitUntilAsync(() => Volatile.Read(ref ok) >= 200, TimeSpan.FromSeconds(60), "200 calls answered before the restart", ct);
        var failedBefore = outcomes.Count(s => s != RpcStatus.Ok);
        faults.SetBrokerDown(restarted);
        await Conditions.WaitUntilAsync(() => outcomes.Count(s => s != RpcStatus.Ok) > failedBefore, TimeSpan.FromSeconds(30),
            "a call caught by the outage ends at its deadline", ct);
        faults.SetBrokerUp(restarted);

        // Back: 100 keyed calls (every request partition, replies through the restarted broker) each succeed within
        // a deadline of a few seconds — the restart costs reconnecting, not a producer's or consumer's timeout.
        var after = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
        {
            var call = new Call(99, i, "after-" + i);
            return client.CallAsync<Call, Call>(requests, "Echo", call,
                new RpcCallOptions { Timeout = TimeSpan.FromSeconds(10), Key = System.Text.Encoding.UTF8.GetBytes(call.Value) }, ct).AsTask();
        }));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => "after-" + i), after.Select(a => a.Value));

        var okBeforeStop = Volatile.Read(ref ok);
        await Conditions.WaitUntilAsync(() => Volatile.Read(ref ok) >= okBeforeStop + 200, TimeSpan.FromSeconds(30), "the load runs again", ct);
        await stopLoad.CancelAsync();
        await Task.WhenAll(load);

        // What the outage caught ended with a status that says so: the deadline, or the broker being unreachable.
        Assert.All(outcomes, status => Assert.True(status is RpcStatus.Ok or RpcStatus.DeadlineExceeded or RpcStatus.Unavailable, status.ToString()));
        Assert.Equal(0, client.Statistics.MalformedReplies);
        Assert.Equal(0, server.Statistics.ReplyFailures);
    }
}
