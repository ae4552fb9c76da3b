using System.Text;
using Messaging.Partitioners;
using Messaging.Producer;

namespace Messaging.Core.Tests.Producer;

public sealed class PartitionerTests
{
    /// <summary>The vectors of the Java client's own test (<c>UtilsTest.testMurmur2</c>).</summary>
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_matches_the_Java_client_bit_for_bit(string key, int expected) =>
        Assert.Equal(expected, Murmur2.Hash(Encoding.ASCII.GetBytes(key)));

    [Fact]
    public void Murmur2_of_empty_input_is_the_seed_mixed()
    {
        // Java: h = seed ^ 0, no blocks, no tail, final mix only.
        uint h = 0x9747b28c;
        h ^= h >> 13;
        h *= 0x5bd1e995;
        h ^= h >> 15;
        Assert.Equal((int)h, Murmur2.Hash([]));
    }

    [Fact]
    public void Partition_is_to_positive_of_the_hash_modulo_the_count()
    {
        for (var i = 0; i < 1000; i++)
        {
            var key = Encoding.UTF8.GetBytes("key-" + i);
            var hash = Murmur2.Hash(key);
            Assert.Equal((hash & 0x7fffffff) % 7, Murmur2.Partition(key, 7));
        }

        // A negative hash: Java's toPositive masks the sign bit (it does not negate).
        var negative = Encoding.ASCII.GetBytes("21");
        Assert.Equal((-973932308 & 0x7fffffff) % 10, Murmur2.Partition(negative, 10));
    }

    [Fact]
    public void Partition_rejects_a_topic_without_partitions() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Murmur2.Partition("k"u8, 0));

    [Fact]
    public void Sticky_partitioner_stays_until_told_the_batch_is_full_then_moves_to_another_partition()
    {
        var sticky = new StickyPartitioner();
        var first = sticky.Current(Partitions(6));
        Assert.InRange(first, 0, 5);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(first, sticky.Current(Partitions(6)));
        }

        for (var i = 0; i < 50; i++)
        {
            var before = sticky.Current(Partitions(6));
            sticky.OnNewBatch(before, Partitions(6));
            var after = sticky.Current(Partitions(6));
            Assert.NotEqual(before, after);
            Assert.InRange(after, 0, 5);
        }
    }

    [Fact]
    public void Sticky_partitioner_ignores_a_stale_new_batch_notice()
    {
        var sticky = new StickyPartitioner();
        var current = sticky.Current(Partitions(4));
        sticky.OnNewBatch((current + 1) % 4, Partitions(4)); // someone else's, already moved on
        Assert.Equal(current, sticky.Current(Partitions(4)));
    }

    [Fact]
    public void Sticky_partitioner_with_one_partition_always_answers_zero()
    {
        var sticky = new StickyPartitioner();
        Assert.Equal(0, sticky.Current(Partitions(1)));
        sticky.OnNewBatch(0, Partitions(1));
        Assert.Equal(0, sticky.Current(Partitions(1)));
    }

    [Fact]
    public void Sticky_partitioner_spreads_over_every_partition_over_time()
    {
        var sticky = new StickyPartitioner();
        var seen = new HashSet<int>();
        for (var i = 0; i < 500; i++)
        {
            var p = sticky.Current(Partitions(8));
            seen.Add(p);
            sticky.OnNewBatch(p, Partitions(8));
        }

        Assert.Equal(8, seen.Count);
    }

    /// <summary>A topic's partitions, none of which has a leader yet.</summary>
    private static PartitionState[] Partitions(int count)
    {
        var topic = new TopicState("t", 0);
        topic.EnsurePartitions(count);
        return topic.Partitions;
    }
}
