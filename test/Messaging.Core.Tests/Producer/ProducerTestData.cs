using Messaging.Producer;
using Messaging.Records;

namespace Messaging.Core.Tests.Producer;

/// <summary>Builds producer internals for unit tests: a topic, partitions and batches.</summary>
internal static class ProducerTestData
{
    public static readonly BufferPool Pool = new(256L * 1024 * 1024, 1024 * 1024);

    public static PartitionState Partition(string topic = "t", int partition = 0)
    {
        var state = new TopicState(topic, 0);
        state.EnsurePartitions(partition + 1);
        return state.Partitions[partition];
    }

    /// <summary>A batch holding <paramref name="records"/> small records.</summary>
    public static ProducerBatch Batch(PartitionState partition, int records, long deadlineTicks = long.MaxValue / 2)
    {
        var batch = ProducerBatch.Rent(partition, new byte[64 * 1024], 64 * 1024, 0, deadlineTicks);
        for (var i = 0; i < records; i++)
        {
            Assert.True(batch.TryAppend(1000 + i, "k"u8, "value"u8, default, RecordNulls.None, null, null, Pool));
        }

        return batch;
    }
}
