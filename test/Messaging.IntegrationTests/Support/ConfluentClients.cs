
namespace Messaging.IntegrationTests.Support;

// Confluent.Kafka is this file's peer client: its type names (ConsumeResult, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>Confluent.Kafka clients set up the way these tests need them (our own client arrives later).</summary>
internal static class ConfluentClients
{
    public static IProducer<byte[], byte[]> Producer(string bootstrapServers, Action<ProducerConfig>? configure = null)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            MessageTimeoutMs = 60_000,
        };
        configure?.Invoke(config);
        return new ProducerBuilder<byte[], byte[]>(config).Build();
    }

    public static IConsumer<byte[], byte[]> Consumer(string bootstrapServers, Action<ConsumerConfig>? configure = null)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "it-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // The embedded broker answers an empty Fetch only after the whole wait: keep it short.
            FetchWaitMaxMs = 50,
        };
        configure?.Invoke(config);
        return new ConsumerBuilder<byte[], byte[]>(config).Build();
    }

    /// <summary>Reads every partition of <paramref name="topic"/> from the beginning until <paramref name="expected"/> records came or the deadline passed.</summary>
    public static List<ConsumeResult<byte[], byte[]>> ReadAll(string bootstrapServers, string topic, int partitions, int expected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var consumer = Consumer(bootstrapServers);
        var assignment = new List<TopicPartitionOffset>(partitions);
        for (var p = 0; p < partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, Offset.Beginning));
        }

        consumer.Assign(assignment);
        var records = new List<ConsumeResult<byte[], byte[]>>(expected);
        var deadline = DateTime.UtcNow + timeout;
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (record is not null && !record.IsPartitionEOF)
            {
                records.Add(record);
            }
        }

        // Linger briefly to catch duplicates that would arrive after the expected count.
        var extraDeadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(300);
        while (DateTime.UtcNow < extraDeadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(50));
            if (record is not null && !record.IsPartitionEOF)
            {
                records.Add(record);
            }
        }

        consumer.Close();
        return records;
    }

    /// <summary>Produces one record and waits for its delivery report.</summary>
    public static Task<DeliveryResult<byte[], byte[]>> ProduceOneAsync(IProducer<byte[], byte[]> producer, string topic, int partition, string value, CancellationToken cancellationToken) =>
        producer.ProduceAsync(
            new Confluent.Kafka.TopicPartition(topic, partition),
            new Message<byte[], byte[]> { Key = "k"u8.ToArray(), Value = System.Text.Encoding.UTF8.GetBytes(value) },
            cancellationToken);
}
