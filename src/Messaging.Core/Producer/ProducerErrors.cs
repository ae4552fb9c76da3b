using System.Globalization;

namespace Messaging.Producer;

/// <summary>Builds every <see cref="ProduceException"/> in one place, so messages say the same things everywhere: which partition, what happened, whether to retry.</summary>
internal static class ProducerErrors
{
    public static ProduceException Broker(TopicPartition partition, ErrorCode code, string? brokerMessage)
    {
        var retriable = ErrorCodes.IsRetriable(code);
        var message = "Producing to " + partition + " failed: " + ErrorCodes.Name(code) + " ("
                      + ((short)code).ToString(CultureInfo.InvariantCulture) + "): " + ErrorCodes.Description(code)
                      + (string.IsNullOrEmpty(brokerMessage) ? "" : " Broker says: " + brokerMessage)
                      + (retriable ? " Retriable, but retries stopped." : " Not retriable.");
        // Refused for its size (the topic's max.message.bytes, the broker's segment size): too large, as when the
        // producer refuses a record itself; a retry cannot help.
        var kind = code is ErrorCode.MessageTooLarge or ErrorCode.RecordListTooLarge ? ProduceErrorKind.RecordTooLarge : ProduceErrorKind.Broker;
        return new ProduceException(kind, code, partition, message, retriable);
    }

    public static ProduceException Transport(TopicPartition partition, Exception cause) =>
        new(ProduceErrorKind.Broker, (cause as KafkaErrorException)?.Code ?? ErrorCode.None, partition,
            "Producing to " + partition + " failed: " + cause.Message, cause is KafkaException { IsRetriable: true }, cause);

    /// <summary>The partition is gone: its topic was deleted and created again with <paramref name="count"/> partitions, fewer than before.</summary>
    public static ProduceException PartitionRemoved(TopicPartition partition, int count) =>
        new(ProduceErrorKind.Broker, ErrorCode.UnknownTopicOrPartition, partition,
            string.Create(CultureInfo.InvariantCulture,
                $"Producing to {partition} failed: the topic no longer has partition {partition.Partition} (it now has {count}: it was deleted and created again with fewer partitions). The record was not delivered. Not retriable: produce it again to a partition the topic has."),
            isRetriable: false);

    /// <summary>A batch failed before it was sent (compressing it threw): the records were not written.</summary>
    public static ProduceException NotSent(TopicPartition partition, Exception cause) =>
        new(ProduceErrorKind.Broker, ErrorCode.None, partition,
            "Producing to " + partition + " failed before the records were sent (compressing their batch failed: " + cause.Message + "). They were not written. Not retriable.", isRetriable: false, cause);

    public static ProduceException DeliveryTimeout(TopicPartition partition, ProducerBatch batch, ProducerSettings settings)
    {
        var timeoutMs = (long)settings.DeliveryTimeout.TotalMilliseconds;
        var message = string.Create(CultureInfo.InvariantCulture,
            $"{batch.Count} record(s) for {partition} were not acknowledged within delivery.timeout.ms ({timeoutMs} ms) after {batch.Attempts} attempt(s)");
        message += batch.LastError is not null
            ? "; last error: " + batch.LastError.Message + " The records may or may not have been written. Retriable."
            : batch.Attempts > 0
                ? "; their request was still unanswered, so they may or may not have been written. Retriable."
                : "; they were never sent. Retriable.";
        return new ProduceException(ProduceErrorKind.DeliveryTimeout, batch.LastErrorCode, partition, message, isRetriable: true, batch.LastError);
    }

    public static ProduceException Disposed(TopicPartition partition, ProducerBatch? batch) =>
        batch is null
            ? new(ProduceErrorKind.Disposed, ErrorCode.None, partition,
                "The record was not delivered before the producer closed (CloseTimeout passed): it was still waiting for metadata or buffer memory, and was never sent.", isRetriable: false)
            : new(ProduceErrorKind.Disposed, batch.LastErrorCode, partition,
                string.Create(CultureInfo.InvariantCulture, $"{batch.Count} record(s) for {partition} were not delivered before the producer closed (CloseTimeout passed)")
                + (batch.Attempts > 0 ? "; they had been sent and may or may not have been written." : "; they were never sent."),
                isRetriable: false, batch.LastError);

    public static ProduceException BufferExhausted(string topic, int partition, long limit, TimeSpan maxBlock) =>
        new(ProduceErrorKind.BufferExhausted, ErrorCode.None, new TopicPartition(topic, partition),
            string.Create(CultureInfo.InvariantCulture,
                $"No room for the record in buffer.memory ({limit} bytes) within {maxBlock.TotalMilliseconds:0} ms (max.block.ms, at most delivery.timeout.ms): records are produced faster than the brokers take them, or a broker is unreachable. The record was not buffered. Retriable."),
            isRetriable: true);

    public static ProduceException RecordTooLarge(string topic, int partition, int size, string limitName, long limit) =>
        new(ProduceErrorKind.RecordTooLarge, ErrorCode.MessageTooLarge, new TopicPartition(topic, partition),
            string.Create(CultureInfo.InvariantCulture, $"The record is {size} bytes when encoded, more than {limitName} ({limit} bytes). It was not buffered. Not retriable."),
            isRetriable: false);

    public static ProduceException MetadataTimeout(string topic, TimeSpan maxBlock, ErrorCode code, Exception? cause) =>
        new(ProduceErrorKind.MetadataTimeout, code, new TopicPartition(topic, -1),
            string.Create(CultureInfo.InvariantCulture, $"Topic {topic} was not found in the cluster metadata within {maxBlock.TotalMilliseconds:0} ms (max.block.ms, at most delivery.timeout.ms)")
            + (code == ErrorCode.None ? "" : " (" + ErrorCodes.Name(code) + ")") + (cause is null ? "" : ": " + cause.Message) + ". The record was not buffered. Retriable.",
            isRetriable: true, cause);

    public static ProduceException Fatal(TopicPartition partition, Exception cause) =>
        new(ProduceErrorKind.Fatal, (cause as KafkaErrorException)?.Code ?? ErrorCode.None, partition,
            "The producer cannot produce any more: " + cause.Message, isRetriable: false, cause);
}
