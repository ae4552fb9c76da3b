using Messaging.Rpc.Tests.Support;

namespace Messaging.Rpc.Tests.Server;

/// <summary>A deadline beyond what one timer takes (~49.7 days) is reached in steps and fires then, not before; disposing stops it.</summary>
public sealed class FarDeadlineTests
{
    [Fact]
    public void A_deadline_months_away_fires_at_the_deadline_and_not_before()
    {
        var time = new ManualTimeProvider();
        using var source = new CancellationTokenSource();
        using var far = new FarDeadline(source, time.GetUtcNow().AddDays(90), time);

        for (var day = 0; day < 89; day++)
        {
            time.Advance(TimeSpan.FromDays(1));
        }

        time.Advance(TimeSpan.FromHours(23));
        Assert.False(source.IsCancellationRequested);
        Assert.Equal(1, time.ArmedTimers); // one step at a time

        time.Advance(TimeSpan.FromHours(1));
        Assert.True(source.IsCancellationRequested);
        Assert.Equal(0, time.ArmedTimers);
    }

    [Fact]
    public void Disposed_it_arms_nothing_more_and_cancels_nothing()
    {
        var time = new ManualTimeProvider();
        using var source = new CancellationTokenSource();
        var far = new FarDeadline(source, time.GetUtcNow().AddDays(90), time);
        far.Dispose();

        time.Advance(TimeSpan.FromDays(100));
        Assert.False(source.IsCancellationRequested);
        Assert.Equal(0, time.ArmedTimers);
    }

    [Fact]
    public void A_far_deadline_step_that_finds_the_source_disposed_does_nothing()
    {
        var time = new ManualTimeProvider();
        var source = new CancellationTokenSource();
        using var far = new FarDeadline(source, time.GetUtcNow().AddDays(2), time);
        source.Dispose(); // the request finished while a step was due

        time.Advance(TimeSpan.FromDays(1));
        time.Advance(TimeSpan.FromDays(1)); // the step that cancels: must not throw on the timer thread
        Assert.Equal(0, time.ArmedTimers);
    }
}
