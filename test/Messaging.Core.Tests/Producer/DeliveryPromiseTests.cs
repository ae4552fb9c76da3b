using Messaging.Core.Tests.Support;
using Messaging.Producer;

namespace Messaging.Core.Tests.Producer;

public sealed class DeliveryPromiseTests
{
    [Fact]
    public void Awaiting_a_delivery_with_a_cancellable_token_allocates_nothing_in_the_steady_state()
    {
        using var cancellation = new CancellationTokenSource();
        var delivered = new DeliveryResult("topic", 0, 1, new Timestamp(2, TimestampType.CreateTime));
        var bytes = Allocations.SteadyState(() =>
        {
            var promise = DeliveryPromise.Rent();
            var task = promise.AsValueTask();
            promise.RegisterCancellation(cancellation.Token);
            promise.TrySetResult(delivered);
            _ = task.Result;
        }, 1000);
        Assert.Equal(0, bytes);
    }

    [Fact]
    public async Task A_cancelled_wait_says_the_record_may_still_be_delivered_and_the_late_result_is_dropped()
    {
        using var cancellation = new CancellationTokenSource();
        var promise = DeliveryPromise.Rent();
        var task = promise.AsValueTask();
        promise.RegisterCancellation(cancellation.Token);

        await cancellation.CancelAsync();
        var thrown = await Assert.ThrowsAsync<OperationCanceledException>(async () => await task);
        Assert.Equal(cancellation.Token, thrown.CancellationToken);
        Assert.Contains("may still be delivered", thrown.Message, StringComparison.Ordinal);
        Assert.False(promise.TrySetResult(new DeliveryResult("topic", 0, 1, new Timestamp(2, TimestampType.CreateTime))));
    }
}
