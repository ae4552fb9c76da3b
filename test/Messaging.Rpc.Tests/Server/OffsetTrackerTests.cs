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
    public void After_a_log_truncation_the_new_logs_offsets_are_taken_and_the_old_entries_never_count_past_the_divergence()
    {
        var tracker = new OffsetTracker();
        var old = new OffsetTracker.Slot[OffsetTracker.SegmentSize + 10]; // across a segment's end
        for (var i = 0; i < old.Length; i++)
        {
            tracker.TryRegister(i, out old[i]);
        }

        for (var i = 0; i < old.Length; i++)
        {
            if (i != 6)
            {
                OffsetTracker.Complete(old[i]);
            }
        }

        Assert.Equal(6, tracker.Advance());
        Assert.False(tracker.TryRegister(6, out _));

        // The log diverges from 6: the new leader's 6 and 7 are requests not handled yet.
        tracker.Rewind(6);
        Assert.True(tracker.TryRegister(6, out var new6));
        Assert.True(tracker.TryRegister(7, out var new7));
        OffsetTracker.Complete(new6);
        OffsetTracker.Complete(new7);
        Assert.Equal(6, tracker.Advance()); // the old 6 still runs: it holds the watermark

        OffsetTracker.Complete(old[6]);
        Assert.Equal(8, tracker.Advance());
        Assert.False(tracker.TryRegister(7, out _));
    }

    [Fact]
    public void A_log_truncation_below_a_completed_prefix_moves_the_watermark_back_to_the_divergence()
    {
        var tracker = new OffsetTracker();
        for (var i = 0; i < 10; i++)
        {
            tracker.TryRegister(i, out var slot);
            OffsetTracker.Complete(slot);
        }

        Assert.Equal(10, tracker.Advance());
        tracker.Rewind(8);
        tracker.Rewind(4); // truncated again, further back, before anything more was read
        Assert.Equal(4, tracker.Advance());

        tracker.Rewind(20); // past everything registered: nothing to take again
        Assert.False(tracker.TryRegister(3, out _));
        Assert.True(tracker.TryRegister(4, out var next));
        OffsetTracker.Complete(next);
        Assert.Equal(5, tracker.Advance());
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
