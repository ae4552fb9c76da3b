using Messaging.Threading;
using Messaging.Connection;
using Messaging.Core.Tests.Support;

namespace Messaging.Core.Tests.Connection;

public sealed class PendingRequestTests
{
    [Fact]
    public void A_request_awaited_as_its_frame_allocates_nothing_in_the_steady_state()
    {
        using var cancellation = new CancellationTokenSource();
        var bytes = Allocations.SteadyState(() =>
        {
            IPendingRequest request = FramePendingRequest.Rent(ApiKey.Metadata, 12, 1, Clock.System, TimeSpan.FromSeconds(30), null);
            var task = ((FramePendingRequest)request).AsValueTask();
            request.RegisterCancellation(cancellation.Token);
            request.TryComplete(default);
            task.Result.Dispose();
        }, 1000);
        Assert.Equal(0, bytes);
    }

    [Fact]
    public async Task A_late_response_for_a_cancelled_caller_stays_with_the_read_loop()
    {
        using var cancellation = new CancellationTokenSource();
        var request = FramePendingRequest.Rent(ApiKey.Metadata, 12, 7, Clock.System, TimeSpan.FromSeconds(30), null);
        var task = request.AsValueTask();
        request.RegisterCancellation(cancellation.Token);

        await cancellation.CancelAsync();
        var thrown = await Assert.ThrowsAsync<OperationCanceledException>(async () => await task);
        Assert.Equal(cancellation.Token, thrown.CancellationToken);
        Assert.False(request.TryComplete(default)); // false: the frame was not taken, the read loop disposes it
    }
}
