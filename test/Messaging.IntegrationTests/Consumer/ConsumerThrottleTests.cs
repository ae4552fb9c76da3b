using System.Diagnostics;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>KIP-219: after a Fetch answer with a throttle time the consumer sends nothing to that broker until it has passed.</summary>
public sealed class ConsumerThrottleTests
{
    private const string Topic = "throttled";

    [Fact(Timeout = 60_000)]
    public async Task A_throttled_fetch_answer_holds_the_next_fetch_back_for_the_throttle_time()
    {
        const int throttleMs = 700;
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        fake.CreateTopic(Topic, 1);
        fake.ThrottleFetches(throttleMs, count: 1);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(Topic, 1, OffsetSpec.Earliest));
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while (fake.FetchTimes.Count < 3)
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"only {fake.FetchTimes.Count} fetches within 10 s");
            await Task.Delay(10, ct); // polling for the condition, not sleeping for a result
        }

        var fetches = fake.FetchTimes.ToArray();
        Assert.Equal([throttleMs, 0], fetches.Take(2).Select(f => f.ThrottleMs));

        // The second Fetch waited out the throttle asked for in the first answer; the third, after an unthrottled
        // answer, did not wait (the fake holds an empty Fetch for at most its max wait, 20 ms here).
        var held = Stopwatch.GetElapsedTime(fetches[0].Arrived, fetches[1].Arrived);
        Assert.True(held >= TimeSpan.FromMilliseconds(throttleMs), $"the next Fetch came {held.TotalMilliseconds:0} ms after a {throttleMs} ms throttle");
        var unthrottled = Stopwatch.GetElapsedTime(fetches[1].Arrived, fetches[2].Arrived);
        Assert.True(unthrottled < TimeSpan.FromMilliseconds(throttleMs - 50), $"a Fetch after an unthrottled answer waited {unthrottled.TotalMilliseconds:0} ms");
    }
}
