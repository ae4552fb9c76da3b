using Messaging.Producer;

namespace Messaging.Core.Tests.Producer;

public sealed class BufferPoolTests
{
    [Fact]
    public void Buffers_come_in_power_of_two_size_classes_and_are_reused()
    {
        var pool = new BufferPool(1024 * 1024, batchSize: 64 * 1024);
        var a = pool.TryRent(5000)!;
        Assert.Equal(8192, a.Length);
        pool.Return(a);
        var b = pool.TryRent(6000)!;
        Assert.Same(a, b);
        Assert.Equal(BufferPool.MinBufferSize, pool.TryRent(10)!.Length);
    }

    [Fact]
    public void A_buffer_larger_than_every_class_is_allocated_to_size_and_dropped_on_return()
    {
        var pool = new BufferPool(1024 * 1024, batchSize: 16 * 1024);
        var big = pool.TryRent(100_000)!;
        Assert.Equal(100_000, big.Length);
        Assert.Equal(100_000, pool.InUse);
        pool.Return(big);
        Assert.Equal(0, pool.Held);
    }

    [Fact]
    public void The_memory_held_never_exceeds_the_bound()
    {
        var pool = new BufferPool(64 * 1024, batchSize: 16 * 1024);
        var rented = new List<byte[]>();
        while (pool.TryRent(16 * 1024) is { } buffer)
        {
            rented.Add(buffer);
            Assert.True(pool.Held <= pool.Limit);
        }

        Assert.Equal(4, rented.Count);
        Assert.Null(pool.TryRent(4096));
        pool.Return(rented[0]);

        // A different size class evicts the cached 16 KiB buffer to make room, staying within the bound.
        var small = pool.TryRent(4096)!;
        Assert.Equal(4096, small.Length);
        Assert.True(pool.Held <= pool.Limit);
    }

    [Fact]
    public async Task A_waiter_gets_memory_as_soon_as_it_is_returned()
    {
        var pool = new BufferPool(32 * 1024, batchSize: 16 * 1024);
        var a = pool.TryRent(16 * 1024)!;
        var b = pool.TryRent(16 * 1024)!;
        var waiting = Task.Run(() => pool.Rent(16 * 1024, TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
        SpinWait.SpinUntil(() => pool.HasWaiters, TimeSpan.FromSeconds(5));
        Assert.True(pool.HasWaiters);
        Assert.Null(pool.TryRent(4096)); // newcomers do not overtake a waiter
        pool.Return(a);
        Assert.Same(a, await waiting.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.False(pool.HasWaiters);
        pool.Return(b);
    }

    [Fact]
    public async Task Waiters_are_served_oldest_first()
    {
        var pool = new BufferPool(16 * 1024, batchSize: 16 * 1024);
        var held = pool.TryRent(16 * 1024)!;
        var first = pool.RentAsync(16 * 1024, TimeSpan.FromSeconds(10), CancellationToken.None).AsTask();
        SpinWait.SpinUntil(() => pool.HasWaiters, TimeSpan.FromSeconds(5));
        var second = pool.RentAsync(16 * 1024, TimeSpan.FromSeconds(10), CancellationToken.None).AsTask();
        pool.Return(held);
        var got = await first.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.NotNull(got);
        Assert.False(second.IsCompleted);
        pool.Return(got!);
        Assert.NotNull(await second.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_wait_ends_empty_handed_after_its_time_and_leaves_the_queue()
    {
        var pool = new BufferPool(16 * 1024, batchSize: 16 * 1024);
        var held = pool.TryRent(16 * 1024)!;
        var started = DateTime.UtcNow;
        Assert.Null(await pool.RentAsync(4096, TimeSpan.FromMilliseconds(200), CancellationToken.None));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(180));
        Assert.Null(pool.Rent(4096, TimeSpan.FromMilliseconds(50)));
        Assert.False(pool.HasWaiters);
        pool.Return(held);
        Assert.NotNull(pool.TryRent(4096));
    }

    [Fact]
    public async Task Cancelling_a_wait_throws_and_leaves_the_queue()
    {
        var pool = new BufferPool(16 * 1024, batchSize: 16 * 1024);
        _ = pool.TryRent(16 * 1024)!;
        using var cancel = new CancellationTokenSource(100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pool.RentAsync(4096, TimeSpan.FromSeconds(10), cancel.Token));
        Assert.False(pool.HasWaiters);
    }

    [Fact]
    public async Task Closing_ends_every_wait_and_refuses_new_ones()
    {
        var pool = new BufferPool(16 * 1024, batchSize: 16 * 1024);
        _ = pool.TryRent(16 * 1024)!;
        var waiting = Task.Run(() => pool.Rent(4096, TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken);
        SpinWait.SpinUntil(() => pool.HasWaiters, TimeSpan.FromSeconds(5));
        pool.Close();
        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Null(pool.Rent(4096, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_request_larger_than_the_whole_bound_fails_at_once()
    {
        var pool = new BufferPool(16 * 1024, batchSize: 16 * 1024);
        Assert.Null(pool.Rent(64 * 1024, TimeSpan.FromSeconds(30)));
    }
}
