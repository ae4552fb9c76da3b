using System.Diagnostics;

namespace Messaging.IntegrationTests.Producer;

/// <summary>KIP-219: after a Produce response with a throttle time the producer sends nothing to that broker until it has passed.</summary>
public sealed class ProducerThrottleTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_throttled_response_holds_the_next_request_back_for_the_throttle_time()
    {
        const int throttleMs = 700;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeProduceBroker.Start(throttleMs, throttledResponses: 1);
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            Acks = Acks.Leader,
            EnableIdempotence = false,
            Linger = TimeSpan.Zero,
        });

        var first = await producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "one"u8.ToArray(), cancellationToken: ct);
        var second = await producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "two"u8.ToArray(), cancellationToken: ct);
        var third = await producer.ProduceAsync(FakeProduceBroker.Topic, (byte[]?)null, "three"u8.ToArray(), cancellationToken: ct);

        Assert.Equal([0L, 1L, 2L], new[] { first.Offset, second.Offset, third.Offset });
        var produces = broker.Produces.ToArray();
        Assert.Equal(3, produces.Length);
        Assert.Equal([throttleMs, 0, 0], produces.Select(p => p.ThrottleMs));

        // The second request waited out the throttle after the first answer; the third, unthrottled, did not wait.
        var held = Stopwatch.GetElapsedTime(produces[0].Answered, produces[1].Arrived);
        Assert.True(held >= TimeSpan.FromMilliseconds(throttleMs - 50), $"the next Produce came {held.TotalMilliseconds:0} ms after a {throttleMs} ms throttle");
        var unthrottled = Stopwatch.GetElapsedTime(produces[1].Answered, produces[2].Arrived);
        Assert.True(unthrottled < TimeSpan.FromMilliseconds(throttleMs - 50), $"an unthrottled Produce waited {unthrottled.TotalMilliseconds:0} ms");
    }
}
