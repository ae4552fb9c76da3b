using FsCheck.Xunit;

namespace Messaging.Rpc.Tests.Server;

/// <summary>The watermark is one past the longest completed prefix of the registered offsets, whatever the completion order, and never moves back.</summary>
public sealed class OffsetTrackerTests
{
    [Property(MaxTest = 300)]
    public void Random_completion_order_moves_the_watermark_over_the_completed_prefix_only(byte[] gaps, int seed, byte advanceEvery)
    {
        // Offsets rise with random gaps (compacted records, transaction markers); enough of them to cross segments.
        var count = gaps.Length * 5 % (OffsetTracker.SegmentSize * 3);
        var offsets = new long[count];
        var next = 100L;
        for (var i = 0; i < count; i++)
        {
            offsets[i] = next;
            next += 1 + (gaps.Length == 0 ? 0 : gaps[i % gaps.Length] % 3);
        }

        var tracker = new OffsetTracker();
        var slots = new OffsetTracker.Slot[count];
        for (var i = 0; i < count; i++)
        {
            Assert.True(tracker.TryRegister(offsets[i], out slots[i]));
        }

        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        var done = new bool[count];
        var previous = -1L;
        for (var step = 0; step < count; step++)
        {
            OffsetTracker.Complete(slots[order[step]]);
            done[order[step]] = true;
            if (step % (1 + advanceEvery % 8) != 0 && step != count - 1)
            {
                continue;
            }

            var watermark = tracker.Advance();
            Assert.Equal(Expected(offsets, done), watermark);
            Assert.True(watermark >= previous, $"the watermark moved back from {previous} to {watermark}");
            previous = watermark;
        }

        Assert.Equal(count == 0 ? -1 : offsets[^1] + 1, tracker.Advance());
    }

    [Fact]
    public void An_incomplete_request_holds_the_watermark_until_it_completes()
    {
        var tracker = new OffsetTracker();
        tracker.TryRegister(5, out var first);
        tracker.TryRegister(7, out var second);
        tracker.TryRegister(8, out var third);

        OffsetTracker.Complete(second);
        OffsetTracker.Complete(third);
        Assert.Equal(-1, tracker.Advance());

        OffsetTracker.Complete(first);
        Assert.Equal(9, tracker.Advance());
    }

    [Fact]
    public void A_record_delivered_twice_is_refused()
    {
        var tracker = new OffsetTracker();
        Assert.True(tracker.TryRegister(10, out _));

        Assert.False(tracker.TryRegister(10, out _));
        Assert.False(tracker.TryRegister(9, out _));
        Assert.True(tracker.TryRegister(11, out _));
    }

    [Fact]
    public async Task Completions_from_many_threads_while_registering_are_all_seen()
    {
        const int count = 20_000;
        var tracker = new OffsetTracker();
        var slots = new System.Collections.Concurrent.BlockingCollection<OffsetTracker.Slot>();
        var token = TestContext.Current.CancellationToken;
        var completers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            foreach (var slot in slots.GetConsumingEnumerable(token))
            {
                OffsetTracker.Complete(slot);
            }
        }, token)).ToArray();
        var advancing = true;
        var advancer = Task.Run(() =>
        {
            var previous = -1L;
            while (Volatile.Read(ref advancing))
            {
                var watermark = tracker.Advance();
                Assert.True(watermark >= previous);
                previous = watermark;
            }
        }, token);

        for (var i = 0; i < count; i++)
        {
            tracker.TryRegister(i, out var slot);
            slots.Add(slot, token);
        }

        slots.CompleteAdding();
        await Task.WhenAll(completers);
        Volatile.Write(ref advancing, false);
        await advancer;

        Assert.Equal(count, tracker.Advance());
    }

    private static long Expected(long[] offsets, bool[] done)
    {
        var watermark = -1L;
        for (var i = 0; i < offsets.Length && done[i]; i++)
        {
            watermark = offsets[i] + 1;
        }

        return watermark;
    }
}
