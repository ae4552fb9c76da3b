using Messaging.Producer;

namespace Messaging.Core.Tests.Producer;

public sealed class BatchQueueTests
{
    [Fact]
    public void Expired_batches_leave_from_anywhere_in_the_ring_and_the_rest_keep_their_order()
    {
        var partition = ProducerTestData.Partition();
        var queue = new BatchQueue();

        // Wrap the ring: two batches in and out, so the next four start at slot 2 of 4 and end at slot 1.
        queue.AddLast(ProducerTestData.Batch(partition, 1));
        queue.AddLast(ProducerTestData.Batch(partition, 1));
        queue.RemoveFirst();
        queue.RemoveFirst();
        var live1 = ProducerTestData.Batch(partition, 1, deadlineTicks: 100);
        var expired1 = ProducerTestData.Batch(partition, 1, deadlineTicks: 10);
        var live2 = ProducerTestData.Batch(partition, 1, deadlineTicks: 100);
        var expired2 = ProducerTestData.Batch(partition, 1, deadlineTicks: 50);
        foreach (var batch in new[] { live1, expired1, live2, expired2 })
        {
            queue.AddLast(batch);
        }

        var expired = new List<ProducerBatch>();
        queue.RemoveExpired(50, expired);

        Assert.Equal([expired1, expired2], expired);
        Assert.Equal(2, queue.Count);
        Assert.Same(live1, queue[0]);
        Assert.Same(live2, queue[1]);

        // The freed slots are usable again, in order.
        var next = ProducerTestData.Batch(partition, 1, deadlineTicks: 100);
        queue.AddLast(next);
        Assert.Same(live1, queue.RemoveFirst());
        Assert.Same(live2, queue.RemoveFirst());
        Assert.Same(next, queue.RemoveFirst());
        Assert.Equal(0, queue.Count);
    }
}
