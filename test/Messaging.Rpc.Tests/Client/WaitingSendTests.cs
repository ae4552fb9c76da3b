using System.Diagnostics;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>
/// A call whose request the producer cannot take at once — its buffer memory is held by a request in flight, or the
/// producer dropped the topic's metadata after <c>MetadataMaxIdle</c> — waits for it without blocking the caller's
/// thread: <c>CallAsync</c> returns at once and the call completes when the request could go.
/// </summary>
public sealed class WaitingSendTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 90_000)]
    public async Task A_call_that_must_wait_for_the_producers_memory_returns_at_once_and_completes_once_the_memory_is_free()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct, requestPartitions: 1, faultInjection: true);
        await using var _ = broker;
        await using var replier = TestReplier.Start(broker.BootstrapServers, requests, 1);

        // Room for one request of this size at a time: while one is in flight, the next has to wait for its memory.
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o =>
        {
            o.Producer.MaxRequestSize = 20_000;
            o.Producer.BatchSize = 20_000;
            o.Producer.BufferMemory = 20_000;
        }));
        var payload = new byte[15_000];
        Random.Shared.NextBytes(payload);
        Assert.Equal(payload, await client.CallAsync(requests, "echo", payload, default, ct)); // the topic is known from here on

        // The broker holds every answer for 3 s: the first call's request keeps the memory that long.
        broker.Faults!.SetBrokerRoundTripDelay(1, TimeSpan.FromSeconds(3));
        var first = client.CallAsync(requests, "echo", payload, default, ct);
        var clock = Stopwatch.StartNew();
        var second = client.CallAsync(requests, "echo", payload, default, ct);
        var returnedAfter = clock.Elapsed;

        // Far below the 3 s the memory is held: the caller's thread did not wait for it (it waited all of it before).
        Assert.True(returnedAfter < TimeSpan.FromSeconds(1), $"CallAsync blocked its caller's thread for {returnedAfter.TotalMilliseconds:F0} ms waiting for the producer's memory");
        Assert.False(second.IsCompleted);

        broker.Faults.SetBrokerRoundTripDelay(1, TimeSpan.Zero);
        Assert.Equal(payload, await first);
        Assert.Equal(payload, await second);
    }
}
