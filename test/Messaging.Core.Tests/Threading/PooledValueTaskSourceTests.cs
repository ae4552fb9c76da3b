using System.Collections.Concurrent;
using Messaging.Core.Tests.Support;
using Messaging.Threading;

namespace Messaging.Core.Tests.Threading;

public sealed class PooledValueTaskSourceTests
{
    [Fact]
    public async Task The_first_completion_wins_when_a_result_a_failure_and_cancellations_race_from_several_threads()
    {
        // Each round, racers on their own threads walk the same sources in the same order, so that they keep hitting
        // the same source at the same moment: the completer (a result or a failure), the cancellation of the token
        // registered on each source and, on odd sources, two more cancellations. Even sources are awaited before the
        // race, so their awaiter lets go as soon as they complete, racing the completer's release and a cancellation
        // callback that is still running; odd ones are awaited after it (a direct cancellation is no owner, so it may
        // only run while the awaiter still holds the source).
        const int Rounds = 100;
        const int Sources = 256;
        var pool = new CountingPool();
        using var cancelA = new CancellationTokenSource();
        using var cancelB = new CancellationTokenSource();
        var errors = new ConcurrentQueue<Exception>();
        var sources = new CountingSource[Sources];
        var early = new Task<int>[Sources];
        var registered = new CancellationTokenSource[Sources];
        var wins = new int[3, Sources];
        var arrived = new int[Sources];
        var round = -1;
        var finished = 0;
        var stop = false;
        Action<int>[] racers =
        [
            i => wins[0, i] = (i % 4 < 2 ? sources[i].TrySetResult(i) : sources[i].TrySetException(new SourceException(i))) ? 1 : 0,
            i => registered[i].Cancel(),
            i => wins[1, i] = i % 2 == 1 && sources[i].Cancel(cancelA.Token) ? 1 : 0,
            i => wins[2, i] = i % 2 == 1 && sources[i].Cancel(cancelB.Token) ? 1 : 0,
        ];
        var threads = racers.Select(race => new Thread(() =>
        {
            for (var r = 0; r < Rounds; r++)
            {
                var spin = default(SpinWait);
                while (Volatile.Read(ref round) < r)
                {
                    if (Volatile.Read(ref stop))
                    {
                        return;
                    }

                    spin.SpinOnce(sleep1Threshold: -1);
                }

                for (var i = 0; i < Sources; i++)
                {
                    // Lockstep: every racer waits at each source until all have arrived, then they go at once.
                    Interlocked.Increment(ref arrived[i]);
                    var wait = default(SpinWait);
                    while (Volatile.Read(ref arrived[i]) < racers.Length)
                    {
                        wait.SpinOnce(sleep1Threshold: -1);
                    }

                    try
                    {
                        race(i);
                    }
                    catch (Exception ex)
                    {
                        errors.Enqueue(ex);
                    }
                }

                Interlocked.Increment(ref finished);
            }
        }) { IsBackground = true }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        try
        {
            for (var r = 0; r < Rounds; r++)
            {
                for (var i = 0; i < Sources; i++)
                {
                    sources[i] = pool.Rent();
                    registered[i] = new CancellationTokenSource();
                    sources[i].RegisterCancellation(registered[i].Token);
                    early[i] = i % 2 == 0 ? sources[i].AsValueTask().AsTask() : null!;
                }

                Array.Clear(wins);
                Array.Clear(arrived);
                Volatile.Write(ref finished, 0);
                Volatile.Write(ref round, r);
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                var spin = default(SpinWait);
                while (Volatile.Read(ref finished) < racers.Length)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the racers did not finish round " + r);
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                Assert.Empty(errors);
                for (var i = 0; i < Sources; i++)
                {
                    await AssertOneWinner(i);
                    registered[i].Dispose();
                }

                Assert.Equal((r + 1) * Sources, pool.Returned); // both owners let go of each: recycled exactly once, by the time its await ends
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            foreach (var thread in threads)
            {
                thread.Join();
            }
        }

        async Task AssertOneWinner(int i)
        {
            var directWins = wins[0, i] + wins[1, i] + wins[2, i];
            try
            {
                Assert.Equal(i, i % 2 == 0 ? await early[i] : await sources[i].AsValueTask());
                Assert.Equal(1, wins[0, i]);
            }
            catch (SourceException ex)
            {
                Assert.Equal(i, ex.Source);
                Assert.Equal(1, wins[0, i]);
            }
            catch (OperationCanceledException ex) when (ex.CancellationToken == cancelA.Token)
            {
                Assert.Equal(1, wins[1, i]);
            }
            catch (OperationCanceledException ex) when (ex.CancellationToken == cancelB.Token)
            {
                Assert.Equal(1, wins[2, i]);
            }
            catch (OperationCanceledException ex) when (ex.CancellationToken == registered[i].Token)
            {
                directWins++; // the registered token's callback won; every direct call lost
            }

            Assert.Equal(1, directWins);
        }
    }

    [Fact]
    public async Task A_cancellation_after_the_completion_does_nothing()
    {
        var pool = new CountingPool();
        using var cancellation = new CancellationTokenSource();
        var source = pool.Rent();
        source.RegisterCancellation(cancellation.Token);
        var task = source.AsValueTask();

        Assert.True(source.TrySetResult(42));
        await cancellation.CancelAsync();
        Assert.False(source.Cancel(cancellation.Token));
        Assert.Equal(42, await task);
        Assert.Equal(1, pool.Returned);
    }

    [Fact]
    public async Task A_registration_made_after_the_completion_is_disposed_when_the_source_is_recycled()
    {
        // The producer's order: the batch may complete the promise before the caller registers its token.
        var pool = new CountingPool();
        using var cancellation = new CancellationTokenSource();
        var source = pool.Rent();
        var first = source.AsValueTask();
        Assert.True(source.TrySetResult(1));
        source.RegisterCancellation(cancellation.Token);
        Assert.Equal(1, await first);

        var reused = pool.Rent();
        Assert.Same(source, reused);
        var second = reused.AsValueTask();
        await cancellation.CancelAsync();
        Assert.False(second.IsCompleted, "the first use's token cancelled the second use");
        Assert.True(reused.TrySetResult(2));
        Assert.Equal(2, await second);
    }

    [Fact]
    public async Task The_completer_letting_go_first_recycles_once_when_the_awaiter_takes_the_result()
    {
        var pool = new CountingPool();
        var source = pool.Rent();
        var task = source.AsValueTask();

        Assert.True(source.TrySetResult(7));
        Assert.Equal(0, pool.Returned);
        Assert.Equal(7, await task);
        Assert.Equal(1, pool.Returned);
    }

    [Fact]
    public async Task The_awaiter_letting_go_first_recycles_once_when_the_late_completer_loses()
    {
        var pool = new CountingPool();
        using var cancellation = new CancellationTokenSource();
        var source = pool.Rent();
        source.RegisterCancellation(cancellation.Token);
        var task = source.AsValueTask();

        await cancellation.CancelAsync();
        var thrown = await Assert.ThrowsAsync<OperationCanceledException>(async () => await task);
        Assert.Equal(cancellation.Token, thrown.CancellationToken);
        Assert.Equal(0, pool.Returned);

        Assert.False(source.TrySetResult(7));
        Assert.Equal(1, pool.Returned);
    }

    [Fact]
    public void A_source_never_handed_out_goes_straight_back_to_its_pool()
    {
        var pool = new CountingPool();
        var source = pool.Rent();
        source.Discard();
        Assert.Equal(1, pool.Returned);
        Assert.Same(source, pool.Rent());
    }

    [Fact]
    public async Task A_recycled_source_rejects_a_stale_token_without_touching_its_next_use()
    {
        var pool = new CountingPool();
        var source = pool.Rent();
        var stale = source.AsValueTask();
        source.TrySetResult(1);
        Assert.Equal(1, await stale);

        var reused = pool.Rent();
        Assert.Same(source, reused);
        var current = reused.AsValueTask();
        Assert.Throws<InvalidOperationException>(() => stale.IsCompleted);
        Assert.Throws<InvalidOperationException>(() => stale.Result);

        // Had the stale GetResult let go of an owner, the completer's release would recycle the source under its awaiter.
        Assert.True(reused.TrySetResult(2));
        Assert.Equal(1, pool.Returned);
        Assert.Equal(2, await current);
        Assert.Equal(2, pool.Returned);
    }

    [Fact]
    public async Task A_result_read_before_completion_throws_and_keeps_the_source_for_its_await()
    {
        var pool = new CountingPool();
        var source = pool.Rent();
        var task = source.AsValueTask();

        var thrown = Assert.Throws<InvalidOperationException>(() => task.Result);

        // Had the early read let go of the awaiter's share, the completer's release would recycle the source here and
        // the await below would find its token stale.
        Assert.True(source.TrySetResult(5));
        Assert.Equal(0, pool.Returned);
        Assert.Equal(5, await task);
        Assert.Equal(1, pool.Returned);
        Assert.Contains("has not completed", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_use_in_the_steady_state_allocates_nothing()
    {
        var pool = new CountingPool();
        using var cancellation = new CancellationTokenSource();
        var bytes = Allocations.SteadyState(() =>
        {
            var source = pool.Rent();
            source.RegisterCancellation(cancellation.Token);
            var task = source.AsValueTask();
            source.TrySetResult(3);
            _ = task.Result;
        }, 1000);
        Assert.Equal(0, bytes);
    }

    /// <summary>A bounded-by-nothing pool that counts what comes back.</summary>
    private sealed class CountingPool
    {
        private readonly ConcurrentQueue<CountingSource> _items = new();
        private int _returned;

        public int Returned => Volatile.Read(ref _returned);

        public CountingSource Rent() => _items.TryDequeue(out var source) ? source : new CountingSource(this);

        public void Return(CountingSource source)
        {
            Interlocked.Increment(ref _returned);
            _items.Enqueue(source);
        }
    }

    private sealed class CountingSource(CountingPool pool) : PooledValueTaskSource<int>
    {
        public bool Cancel(CancellationToken cancellationToken) => TryCancel(cancellationToken);

        public void Discard() => RecycleUnused();

        protected override void ReturnToPool() => pool.Return(this);
    }

    private sealed class SourceException(int source) : Exception("source " + source)
    {
        public new int Source { get; } = source;
    }
}
