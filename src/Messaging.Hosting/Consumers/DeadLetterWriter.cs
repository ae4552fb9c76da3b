using System.Globalization;
using System.Text;

namespace Messaging.Hosting;

/// <summary>
/// Produces a record that could not be handled to the dead-letter topic: the original key, value and headers, then the
/// <see cref="DeadLetterHeaders"/> saying what failed, where the record came from and how many attempts were made.
/// The partitioner places it by the original key, so one key's dead letters keep their order.
/// </summary>
internal sealed class DeadLetterWriter(IKafkaProducer producer, string topic)
{
    private const int MaxMessageLength = 4096;

    public string Topic { get; } = topic;

    /// <summary>Completes when the broker acknowledged the dead letter; throws the producer's error otherwise.</summary>
    public async ValueTask WriteAsync(TopicPartition source, long offset, byte[]? key, byte[]? value, IReadOnlyList<RecordHeader> headers,
        Exception error, int attempts, CancellationToken cancellationToken)
    {
        var all = new List<RecordHeader>(headers.Count + 6);
        all.AddRange(headers);
        var message = error.Message.Length > MaxMessageLength ? error.Message[..MaxMessageLength] : error.Message;
        all.Add(Text(DeadLetterHeaders.ErrorType, error.GetType().FullName ?? error.GetType().Name));
        all.Add(Text(DeadLetterHeaders.ErrorMessage, message));
        all.Add(Text(DeadLetterHeaders.SourceTopic, source.Topic));
        all.Add(Text(DeadLetterHeaders.SourcePartition, source.Partition.ToString(CultureInfo.InvariantCulture)));
        all.Add(Text(DeadLetterHeaders.SourceOffset, offset.ToString(CultureInfo.InvariantCulture)));
        all.Add(Text(DeadLetterHeaders.Attempts, attempts.ToString(CultureInfo.InvariantCulture)));
        // A null byte[] must stay a Kafka null, not become an empty ReadOnlyMemory.
        await producer.ProduceAsync(Topic, key is null ? null : key, value is null ? null : value, all, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static RecordHeader Text(string key, string value) => new(key, Encoding.UTF8.GetBytes(value));
}
