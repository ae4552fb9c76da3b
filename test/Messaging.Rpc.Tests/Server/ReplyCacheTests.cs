using Microsoft.Extensions.Time.Testing;

namespace Messaging.Rpc.Tests.Server;

/// <summary>The server's reply cache: first runs, duplicates wait or replay, bounds by entries, bytes and age.</summary>
public sealed class ReplyCacheTests
{
    private static CachedReply Reply(int bytes, RpcStatus status = RpcStatus.Ok) => new(status, null, "application/json"u8.ToArray(), new byte[bytes]);

    [Fact]
    public async Task The_first_request_runs_a_concurrent_duplicate_waits_and_a_later_one_replays()
    {
        var cache = new ReplyCache(new RpcReplyCacheOptions { Enabled = true }, new FakeTimeProvider());
        var id = Guid.NewGuid();
        Assert.True(cache.Begin(id).Run);

        var waiting = cache.Begin(id);
        Assert.False(waiting.Run);
        Assert.False(waiting.Reply!.IsCompleted);

        var reply = Reply(10, RpcStatus.Internal);
        cache.Complete(id, reply);
        Assert.Same(reply, await waiting.Reply);

        var later = cache.Begin(id);
        Assert.False(later.Run);
        Assert.Same(reply, await later.Reply!);
        Assert.Equal(2, cache.Hits);
    }

    [Fact]
    public async Task An_abandoned_request_lets_its_waiters_run_and_is_forgotten()
    {
        var cache = new ReplyCache(new RpcReplyCacheOptions { Enabled = true }, new FakeTimeProvider());
        var id = Guid.NewGuid();
        Assert.True(cache.Begin(id).Run);
        var waiting = cache.Begin(id);
        cache.Abandon(id);
        Assert.Null(await waiting.Reply!);
        Assert.True(cache.Begin(id).Run);
    }

    [Fact]
    public void Replies_older_than_the_max_age_are_dropped()
    {
        var time = new FakeTimeProvider();
        var cache = new ReplyCache(new RpcReplyCacheOptions { Enabled = true, MaxAge = TimeSpan.FromMinutes(1) }, time);
        var id = Guid.NewGuid();
        cache.Begin(id);
        cache.Complete(id, Reply(1));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(cache.Begin(id).Run);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(cache.Begin(id).Run);
    }

    [Fact]
    public void The_oldest_completed_replies_go_first_over_the_entry_and_byte_bounds_and_running_ones_stay()
    {
        var cache = new ReplyCache(new RpcReplyCacheOptions { Enabled = true, MaxEntries = 3, MaxBytes = 100 }, new FakeTimeProvider());
        var running = Guid.NewGuid();
        cache.Begin(running);
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            cache.Begin(id);
            cache.Complete(id, Reply(10));
        }

        Assert.Equal(4, cache.Count); // three completed + the running one
        Assert.True(cache.Begin(ids[0]).Run);  // evicted (and now running again)
        Assert.False(cache.Begin(ids[4]).Run);

        var big = Guid.NewGuid();
        cache.Begin(big);
        cache.Complete(big, Reply(95));
        Assert.True(cache.Bytes <= 100);
        Assert.False(cache.Begin(big).Run);
        Assert.False(cache.Begin(running).Run); // a running entry is never evicted
    }

    [Fact]
    public async Task A_reply_larger_than_the_byte_bound_is_handed_to_its_waiters_but_evicts_nothing_it_could_never_make_room_for()
    {
        var cache = new ReplyCache(new RpcReplyCacheOptions { Enabled = true, MaxBytes = 100 }, new FakeTimeProvider());
        var kept = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in kept)
        {
            cache.Begin(id);
            cache.Complete(id, Reply(10));
        }

        var big = Guid.NewGuid();
        Assert.True(cache.Begin(big).Run);
        var waiting = cache.Begin(big);
        var reply = Reply(150);
        cache.Complete(big, reply);

        Assert.Same(reply, await waiting.Reply!); // the duplicate that waited still gets it
        Assert.Equal(30, cache.Bytes);
        Assert.All(kept, id => Assert.False(cache.Begin(id).Run)); // still replayed: dropping them could not have made room
        Assert.True(cache.Begin(big).Run); // not kept: it alone is over the bound
    }

    [Fact]
    public async Task A_released_cache_frees_its_waiters_and_keeps_nothing_of_requests_running_or_starting_after_it()
    {
        var cache = new ReplyCache(new RpcReplyCacheOptions { Enabled = true }, new FakeTimeProvider());
        var stored = Guid.NewGuid();
        cache.Begin(stored);
        cache.Complete(stored, Reply(10));
        var running = Guid.NewGuid();
        Assert.True(cache.Begin(running).Run);
        var waiting = cache.Begin(running);

        cache.Release();
        Assert.Null(await waiting.Reply!);
        Assert.Equal(0, cache.Count);

        // The one running at the release, and one starting after it, complete into nothing.
        cache.Complete(running, Reply(10));
        var late = Guid.NewGuid();
        Assert.True(cache.Begin(late).Run);
        cache.Complete(late, Reply(10));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Bytes);
        Assert.True(cache.Begin(late).Run); // not replayed
        Assert.True(cache.Begin(stored).Run);
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(1, -1, 1)]
    [InlineData(1, 1, 0)]
    public void Invalid_bounds_are_refused(int entries, long bytes, int ageSeconds) =>
        Assert.ThrowsAny<ArgumentException>(() => new ReplyCache(new RpcReplyCacheOptions { MaxEntries = entries, MaxBytes = bytes, MaxAge = TimeSpan.FromSeconds(ageSeconds) }, TimeProvider.System));
}
