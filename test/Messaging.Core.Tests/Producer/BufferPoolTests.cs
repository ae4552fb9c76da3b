using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
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
        var rented = RentUntilFull(pool, 16 * 1024);
        Assert.Equal(4, rented.Count);
        Assert.Null(pool.TryRent(4096));
        Assert.Equal(64 * 1024, pool.AllocatedBytes);
    }

    [Fact]
    public void At_the_bound_a_smaller_request_takes_a_larger_cached_buffer_instead_of_dropping_it()
    {
        var pool = new BufferPool(64 * 1024, batchSize: 16 * 1024);
        var rented = RentUntilFull(pool, 16 * 1024);
        pool.Return(rented[0]);
        var small = pool.TryRent(minimum: 100, preferred: 4096)!;
        Assert.Same(rented[0], small); // already counted under the bound: reusing it costs nothing
        Assert.Equal(64 * 1024, pool.AllocatedBytes);
        Assert.Equal(0, pool.Statistics.Drops);
    }

    [Fact]
    public void At_the_bound_a_preferred_size_falls_back_to_a_smaller_cached_buffer_that_holds_the_minimum()
    {
        var pool = new BufferPool(32 * 1024, batchSize: 16 * 1024);
        var big = pool.TryRent(16 * 1024)!;
        var small = pool.TryRent(8 * 1024)!;
        var other = pool.TryRent(8 * 1024)!;
        pool.Return(small);
        var got = pool.TryRent(minimum: 500, preferred: 16 * 1024)!;
        Assert.Same(small, got); // the batch starts smaller and seals sooner; nothing is dropped or allocated
        Assert.Equal(32 * 1024, pool.AllocatedBytes);
        pool.Return(big);
        pool.Return(other);
        pool.Return(got);
    }

    [Fact]
    public void Below_the_bound_the_preferred_size_is_allocated()
    {
        var pool = new BufferPool(1024 * 1024, batchSize: 64 * 1024);
        var small = pool.TryRent(4096)!;
        pool.Return(small);
        var got = pool.TryRent(minimum: 100, preferred: 40_000)!;
        Assert.Equal(64 * 1024, got.Length);
    }

    [Fact]
    public void A_growing_batch_never_makes_the_pool_drop_buffers()
    {
        var pool = new BufferPool(32 * 1024, batchSize: 16 * 1024);
        var a = pool.TryRent(4096)!;
        var b = pool.TryRent(4096)!;
        var c = pool.TryRent(8 * 1024)!;
        var d = pool.TryRent(16 * 1024)!;
        pool.Return(a);
        pool.Return(b);

        // 16 KiB more would fit only by dropping the two cached 4 KiB buffers: a batch that cannot grow is sent as it is.
        pool.Return(c);
        Assert.Null(pool.TryRent(16 * 1024));
        Assert.Equal(0, pool.Statistics.Drops);
        pool.Return(d);
    }

    [Fact]
    public void Cached_buffers_too_small_for_a_record_are_dropped_to_make_room_for_it()
    {
        var pool = new BufferPool(32 * 1024, batchSize: 16 * 1024);
        var held = pool.TryRent(16 * 1024)!;
        var smalls = new[] { pool.TryRent(4096)!, pool.TryRent(4096)!, pool.TryRent(4096)!, pool.TryRent(4096)! };
        foreach (var buffer in smalls)
        {
            pool.Return(buffer);
        }

        var big = pool.TryRent(minimum: 10_000, preferred: 10_000)!;
        Assert.Equal(16 * 1024, big.Length);
        Assert.Equal(4, pool.Statistics.Drops);
        Assert.True(pool.Held <= pool.Limit);
        pool.Return(held);
        pool.Return(big);
    }

    /// <summary>
    /// Whatever the sequence of new batches (records up to 4 KiB, any preferred size), growths and returns, the pool
    /// never holds more than its bound and never allocates more than its bound in its whole life (batches grow up to the
    /// largest class, as <c>ProducerBatch</c> grows them; preferred sizes beyond it are capped).
    /// </summary>
    [Property(MaxTest = 200)]
    public Property Over_any_sequence_of_rents_and_returns_the_pool_allocates_at_most_its_bound() =>
        Prop.ForAll(
            Gen.ListOf(Gen.Choose(0, 1 << 20), 300).ToArbitrary(),
            ops =>
            {
                const int limit = 256 * 1024;
                var pool = new BufferPool(limit, batchSize: 64 * 1024);
                var held = new List<byte[]>();
                foreach (var op in ops)
                {
                    switch (op % 3)
                    {
                        case 0:
                            if (pool.TryRent(minimum: 1 + (op >> 2) % 4000, preferred: (op >> 4) % (80 * 1024)) is { } fresh)
                            {
                                held.Add(fresh);
                            }

                            break;
                        case 1 when held.Count > 0 && held[(op >> 2) % held.Count].Length < 64 * 1024:
                            var index = (op >> 2) % held.Count;
                            if (pool.TryRent(held[index].Length * 2) is { } grown)
                            {
                                pool.Return(held[index]);
                                held[index] = grown;
                            }

                            break;
                        case 2 when held.Count > 0:
                            var victim = (op >> 2) % held.Count;
                            pool.Return(held[victim]);
                            held.RemoveAt(victim);
                            break;
                    }

                    if (pool.Held > limit || pool.AllocatedBytes > limit)
                    {
                        return false;
                    }
                }

                return true;
            });

    [Fact]
    public async Task A_waiter_gets_memory_as_soon_as_it_is_returned()
    {
        var pool = new BufferPool(32 * 1024, batchSize: 16 * 1024);
        var a = pool.TryRent(16 * 1024)!;
        var b = pool.TryRent(16 * 1024)!;
        var waiting = Task.Run(() => pool.Rent(16 * 1024, 16 * 1024, TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
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
        var first = pool.RentAsync(16 * 1024, 16 * 1024, TimeSpan.FromSeconds(10), null, CancellationToken.None).AsTask();
        SpinWait.SpinUntil(() => pool.HasWaiters, TimeSpan.FromSeconds(5));
        var second = pool.RentAsync(16 * 1024, 16 * 1024, TimeSpan.FromSeconds(10), null, CancellationToken.None).AsTask();
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
        Assert.Null(await pool.RentAsync(4096, 4096, TimeSpan.FromMilliseconds(200), null, CancellationToken.None));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(180));
        Assert.Null(pool.Rent(4096, 4096, TimeSpan.FromMilliseconds(50)));
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
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pool.RentAsync(4096, 4096, TimeSpan.FromSeconds(10), null, cancel.Token));
        Assert.False(pool.HasWaiters);
    }

    [Fact]
    public async Task Closing_ends_every_wait_and_refuses_new_ones()
    {
        var pool = new BufferPool(16 * 1024, batchSize: 16 * 1024);
        _ = pool.TryRent(16 * 1024)!;
        var waiting = Task.Run(() => pool.Rent(4096, 4096, TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken);
        SpinWait.SpinUntil(() => pool.HasWaiters, TimeSpan.FromSeconds(5));
        pool.Close();
        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Null(pool.Rent(4096, 4096, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_request_larger_than_the_whole_bound_fails_at_once()
    {
        var pool = new BufferPool(16 * 1024, batchSize: 16 * 1024);
        Assert.Null(pool.Rent(64 * 1024, 64 * 1024, TimeSpan.FromSeconds(30)));
    }

    /// <summary>Rents buffers of <paramref name="size"/> until the pool says no, checking the bound after each.</summary>
    private static List<byte[]> RentUntilFull(BufferPool pool, int size)
    {
        var rented = new List<byte[]>();
        while (pool.TryRent(size) is { } buffer)
        {
            rented.Add(buffer);
            Assert.True(pool.Held <= pool.Limit);
        }

        return rented;
    }
}
