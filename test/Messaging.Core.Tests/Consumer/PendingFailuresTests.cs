using Messaging.Consumer;

namespace Messaging.Core.Tests.Consumer;

/// <summary>The group's errors waiting for the application's consume calls: in order, bounded, the earliest kept.</summary>
public sealed class PendingFailuresTests
{
    [Fact]
    public void Errors_are_taken_in_the_order_they_were_added()
    {
        var pending = new PendingFailures();
        var first = new InvalidOperationException("first");
        var second = new InvalidOperationException("second");

        Assert.True(pending.Add(first));
        Assert.True(pending.Add(second));

        Assert.Same(first, pending.Take());
        Assert.Same(second, pending.Take());
        Assert.Null(pending.Take());
    }

    [Fact]
    public void Past_the_capacity_the_earliest_errors_are_kept_and_a_later_one_is_refused()
    {
        var pending = new PendingFailures();
        var errors = new Exception[PendingFailures.Capacity];
        for (var i = 0; i < errors.Length; i++)
        {
            errors[i] = new InvalidOperationException("error " + i);
            Assert.True(pending.Add(errors[i]));
        }

        Assert.False(pending.Add(new InvalidOperationException("one too many")));

        foreach (var error in errors)
        {
            Assert.Same(error, pending.Take());
        }

        Assert.Null(pending.Take());
        Assert.True(pending.Add(new InvalidOperationException("room again")));
    }
}
