namespace Messaging.Rpc.Tests.Calls;

/// <summary>The send order's line: turns come in the order they were taken; a turn given up early holds nobody up; closing ends every turn.</summary>
public sealed class SendOrderTests
{
    [Fact]
    public async Task Turns_come_in_the_order_they_were_taken_and_only_once_the_one_before_was_given_up()
    {
        var order = new SendOrder();
        Assert.True(order.IsEmpty);
        var first = order.Enter();
        var second = order.Enter();
        var third = order.Enter();
        Assert.False(order.IsEmpty);
        Assert.True(first.Reached.IsCompletedSuccessfully);
        Assert.False(second.Reached.IsCompleted);
        Assert.False(third.Reached.IsCompleted);

        order.Leave(first);
        await second.Reached.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.False(third.Reached.IsCompleted);
        order.Leave(first); // twice: nothing more
        Assert.False(third.Reached.IsCompleted);

        order.Leave(second);
        await third.Reached.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        order.Leave(third);
        Assert.True(order.IsEmpty);
        Assert.False(first.Closed || second.Closed || third.Closed);
    }

    [Fact]
    public async Task A_turn_given_up_before_it_came_leaves_the_line_without_holding_up_the_ones_behind_it()
    {
        var order = new SendOrder();
        var first = order.Enter();
        var gaveUp = order.Enter();
        var last = order.Enter();

        order.Leave(gaveUp); // its call failed while it waited
        Assert.False(gaveUp.Reached.IsCompleted);
        Assert.False(last.Reached.IsCompleted);

        order.Leave(first);
        await last.Reached.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        order.Leave(last);
        Assert.True(order.IsEmpty);
    }

    [Fact]
    public async Task Closing_ends_every_waiting_turn_and_every_later_one_as_closed()
    {
        var order = new SendOrder();
        var first = order.Enter();
        var waiting = order.Enter();

        order.Close();
        Assert.True(order.IsEmpty);
        await waiting.Reached.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.True(waiting.Closed);
        var later = order.Enter();
        Assert.True(later.Reached.IsCompleted);
        Assert.True(later.Closed);

        order.Leave(first); // a call that was sending when the client closed gives its turn up as usual
        order.Leave(later);
        Assert.True(order.IsEmpty);
    }
}
