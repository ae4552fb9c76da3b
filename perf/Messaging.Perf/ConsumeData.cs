using System.Globalization;
using Confluent.Kafka;

namespace Messaging.Perf;

/// <summary>
/// Writes a <c>consume</c> run's data once, with Confluent.Kafka (large batches, idempotent so each partition keeps
/// the order it was produced in): record i of <see cref="Payloads"/> to partition i mod P, then checks the broker
/// kept all of it — <see cref="RecordChecker"/> relies on exactly that layout.
/// </summary>
internal static class ConsumeData
{
    /// <summary>Produces the data and returns its uncompressed size in bytes (keys, values and headers).</summary>
    public static async Task<long> WriteAsync(string bootstrap, string topic, ConsumeSettings settings, StoredRecords stored, CancellationToken cancellationToken)
    {
        var payloads = settings.Payloads;
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            LingerMs = 50,
            BatchSize = 1_000_000,
            BatchNumMessages = 100_000,
            MessageMaxBytes = Math.Max(1024 * 1024, payloads.RecordBytes + (64 * 1024)),
            QueueBufferingMaxMessages = 10_000_000,
            QueueBufferingMaxKbytes = 2_097_151,
            CompressionType = ConfluentCompression.From(settings.Compression),
        };
        using (var producer = new ProducerBuilder<byte[]?, byte[]>(producerConfig).Build())
        {
            var message = new Message<byte[]?, byte[]>();
            for (var i = 0; i < settings.Messages; i++)
            {
                message.Key = payloads.Key(i);
                message.Value = payloads.Value(i);
                message.Headers = payloads.ConfluentHeaders(i);
                producer.Produce(new Confluent.Kafka.TopicPartition(topic, i % settings.Partitions), message);
            }

            if (producer.Flush(TimeSpan.FromMinutes(5)) != 0)
            {
                throw new InvalidOperationException("Confluent.Kafka did not deliver the test data within 5 minutes.");
            }
        }

        // The embedded broker drops the oldest records of a partition beyond about 5 MB: then the log no longer
        // starts at 0 and the count falls short.
        var held = await stored.CountAsync(topic, settings.Partitions, cancellationToken).ConfigureAwait(false);
        var dropped = await stored.DroppedAsync(topic, settings.Partitions, cancellationToken).ConfigureAwait(false);
        if (held != settings.Messages || dropped != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The broker stored {held} records and dropped the oldest {dropped}, expected {settings.Messages} and none: the embedded broker keeps about 5 MB per partition. Use more --partitions or fewer --messages."));
        }

        return (long)settings.Messages * payloads.RecordBytes;
    }
}
