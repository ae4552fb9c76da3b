using Confluent.Kafka;
using ConsumeResult = Messaging.ConsumeResult<byte[]?, byte[]?>;
using TopicPartitionOffset = Messaging.TopicPartitionOffset;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Helpers the consumer tests share: options for the embedded broker, producing with Confluent.Kafka, reading with ours.</summary>
internal static class ConsumerTestSupport
{
    public static KafkaConsumerOptions Options(string bootstrap, Action<KafkaConsumerOptions>? configure = null)
    {
        var options = new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "consumer-tests",
            // The embedded broker answers an empty Fetch only after the whole wait: keep it short.
            FetchMaxWait = TimeSpan.FromMilliseconds(20),
            ReconnectBackoff = TimeSpan.FromMilliseconds(20),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
            RetryBackoff = TimeSpan.FromMilliseconds(30),
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>
    /// <see cref="Options"/> for a member of a new group that commits only when told (no auto-commit), with a short
    /// session and fast heartbeats: the commit-and-rejoin tests against a fake coordinator.
    /// </summary>
    public static KafkaConsumerOptions ManualCommitGroupOptions(string bootstrap) => Options(bootstrap, o =>
    {
        o.GroupId = "group-" + Guid.NewGuid().ToString("N")[..8];
        o.EnableAutoCommit = false;
        o.SessionTimeout = TimeSpan.FromSeconds(6);
        o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        o.RebalanceTimeout = TimeSpan.FromSeconds(10);
    });

    public static KafkaConsumer<byte[]?, byte[]?> Bytes(KafkaConsumerOptions options) => new(options, Messaging.Deserializers.ByteArray, Messaging.Deserializers.ByteArray);

    /// <summary>Produces <paramref name="count"/> records (value = <see cref="SequencedPayload"/>), spread by key over the partitions; returns them by partition in order.</summary>
    public static async Task<Dictionary<int, List<(byte[] Key, byte[] Value)>>> ProduceAsync(
        string bootstrap, string topic, int partitions, int count, int valueSize, Confluent.Kafka.CompressionType compression = Confluent.Kafka.CompressionType.None, CancellationToken cancellationToken = default)
    {
        var byPartition = new Dictionary<int, List<(byte[], byte[])>>();
        using var producer = ConfluentClients.Producer(bootstrap, c =>
        {
            c.CompressionType = compression;
            c.LingerMs = 2;
        });
        var tasks = new List<Task<DeliveryResult<byte[], byte[]>>>(count);
        for (int i = 0; i < count; i++)
        {
            var key = System.Text.Encoding.UTF8.GetBytes("key-" + i);
            var value = SequencedPayload.Create(i, valueSize);
            tasks.Add(producer.ProduceAsync(new Confluent.Kafka.TopicPartition(topic, i % partitions), new Message<byte[], byte[]> { Key = key, Value = value }, cancellationToken));
        }

        foreach (var task in tasks)
        {
            var result = await task;
            if (!byPartition.TryGetValue(result.Partition.Value, out var list))
            {
                byPartition[result.Partition.Value] = list = [];
            }

            list.Add((result.Message.Key, result.Message.Value));
        }

        return byPartition;
    }

    /// <summary>Reads with the typed path until <paramref name="expected"/> records came, or the timeout.</summary>
    public static async Task<List<Messaging.ConsumeResult<TKey, TValue>>> ReadAsync<TKey, TValue>(KafkaConsumer<TKey, TValue> consumer, int expected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var results = new List<Messaging.ConsumeResult<TKey, TValue>>(expected);
        try
        {
            await foreach (var result in consumer.ConsumeAsync(cts.Token))
            {
                results.Add(result);
                if (results.Count >= expected)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return results;
    }

    /// <summary>Reads with the raw path (recycling each record) until <paramref name="expected"/> records came, or the timeout; returns their offsets.</summary>
    public static async Task<List<long>> ReadRawAsync(KafkaConsumer consumer, int expected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var offsets = new List<long>(expected);
        try
        {
            await foreach (var record in consumer.ConsumeRawAsync(cts.Token))
            {
                offsets.Add(record.Offset);
                record.Recycle();
                if (offsets.Count >= expected)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return offsets;
    }

    /// <summary>One record batch (magic 2) of <paramref name="count"/> records with values "v0", "v1", ..., for a <see cref="FakeFetchBroker"/> log.</summary>
    public static byte[] Batch(int count, Messaging.CompressionType compression = Messaging.CompressionType.None)
    {
        using var builder = new Messaging.Records.RecordBatchBuilder { Compression = compression };
        for (int i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + i, default, System.Text.Encoding.UTF8.GetBytes("v" + i));
        }

        return builder.Build().ToArray();
    }

    public static IEnumerable<TopicPartitionOffset> All(string topic, int partitions, OffsetSpec start)
    {
        for (int p = 0; p < partitions; p++)
        {
            yield return new TopicPartitionOffset(topic, p, start);
        }
    }
}
