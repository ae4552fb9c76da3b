using System.Text;

namespace Messaging.Rpc.Tests.Server;

/// <summary>The server's cache of reply topic names: bounded, and still caching once more names than it holds came and went.</summary>
public sealed class ReplyTopicNamesTests
{
    [Fact]
    public void A_new_reply_topic_is_cached_after_more_distinct_ones_than_the_cache_holds_came_and_went()
    {
        var names = new ReplyTopicNames();

        // Per-instance reply topics: every client that comes and goes brings a new one.
        for (var i = 0; i < 5000; i++)
        {
            Assert.Equal("replies-" + i, names.Get(Encoding.UTF8.GetBytes("replies-" + i)));
            Assert.InRange(names.Count, 1, 1024);
        }

        var first = names.Get("replies-new"u8);
        var second = names.Get("replies-new"u8);

        Assert.Equal("replies-new", first);
        Assert.Same(first, second);
    }
}
