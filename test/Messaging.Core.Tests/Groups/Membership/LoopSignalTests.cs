using Messaging.Groups;

namespace Messaging.Core.Tests.Groups.Membership;

public sealed class LoopSignalTests
{
    [Fact]
    public async Task A_signal_set_before_the_wait_returns_at_once_and_only_once()
    {
        var signal = new LoopSignal();
        signal.Set();
        signal.Set();

        Assert.True(await signal.WaitAsync(Timeout.InfiniteTimeSpan, TimeProvider.System, TestContext.Current.CancellationToken));
        Assert.False(await signal.WaitAsync(TimeSpan.Zero, TimeProvider.System, TestContext.Current.CancellationToken));
    }
}
