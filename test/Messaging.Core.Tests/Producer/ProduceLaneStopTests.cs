using Messaging.Producer;
using Messaging.Records;

namespace Messaging.Core.Tests.Producer;

/// <summary>Every record that enters the lane gets an outcome, also when it arrives while the producer closes.</summary>
public sealed class ProduceLaneStopTests
{
    [Fact(Timeout = 10_000)]
    public async Task A_record_queued_after_the_lane_stopped_fails_as_disposed_instead_of_waiting_forever()
    {
        var settings = new ProducerSettings(new KafkaProducerOptions { BootstrapServers = "broker.test:9092" });
        using var lane = new ProduceLane(
            static (_, _) => ValueTask.CompletedTask,
            static entry => new InvalidOperationException("expired"),
            settings,
            static _ => true,
            static (_, _, _) => ValueTask.CompletedTask);
        var disposed = new ProduceException(ProduceErrorKind.Disposed, ErrorCode.None, new TopicPartition("t", -1), "closed", isRetriable: false);
        await lane.StopAsync(_ => disposed);

        // A ProduceAsync that checked the producer was open just before it closed, and found its topic without metadata.
        var promise = DeliveryPromise.Rent();
        var outcome = promise.AsValueTask();
        lane.Enqueue(new ProduceLane.Entry("t", default, "v"u8.ToArray(), RecordNulls.Key, null, -1, 0, promise, CancellationToken.None));

        var error = await Assert.ThrowsAsync<ProduceException>(async () => await outcome.AsTask().WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Same(disposed, error);
        Assert.True(lane.IsEmpty);
    }
}
