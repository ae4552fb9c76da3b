using System.Collections.Concurrent;
using System.Diagnostics;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Diagnostics;

/// <summary>The reply loop, started by the first call, must not run in that caller's execution context.</summary>
public sealed class ReplyLoopContextTests(TestBrokerFixture fixture)
{
    private static readonly ActivitySource Test = new("Tests.ReplyLoopContext");

    public sealed record Ping(int Index);

    [Fact(Timeout = 60_000)]
    public async Task The_reply_consumer_s_spans_after_the_first_call_are_not_in_the_first_caller_s_trace()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var receives = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Messaging.Kafka" or RpcTelemetry.ActivitySourceName or "Tests.ReplyLoopContext",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = activity =>
            {
                if (activity.DisplayName == "receive " + rpc.Replies)
                {
                    receives.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // The first caller starts the client (lazily) inside its own trace.
        ActivityTraceId first;
        using (var caller = Test.StartActivity("first caller")!)
        {
            first = caller.TraceId;
            await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1), default, ct);
        }

        await Task.Run(async () =>
        {
            Activity.Current = null;
            for (var i = 2; i < 5; i++)
            {
                using var other = Test.StartActivity("another caller")!;
                await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(i), default, ct);
            }
        }, ct);
        await Conditions.WaitUntilAsync(() => receives.Count >= 4, TimeSpan.FromSeconds(10), "the reply consumer traced its batches", ct);

        var inFirstTrace = receives.Count(a => a.TraceId == first);
        Assert.True(inFirstTrace == 0, inFirstTrace + " of " + receives.Count + " reply-consumer spans were recorded in the first caller's trace");
    }
}
