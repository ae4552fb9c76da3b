using Messaging.Connection;
using Messaging.Protocol;

namespace Messaging.Producer;

/// <summary>
/// Reads a Produce response (v9-11) straight into the <see cref="ProduceRequestSet"/> it answers, without building
/// message objects: topic names are compared as UTF-8 bytes, and strings are only made for error messages.
/// </summary>
/// <remarks>
/// Brokers answer topics and partitions in the order they were asked, so each answer is first matched against the
/// next entry in order and only searched for when that does not match. An entry nobody answered stays unanswered
/// (the sender treats it as a retriable failure). Tagged fields (KIP-951's current leader, node endpoints) are
/// skipped: the producer follows leaders through metadata.
/// </remarks>
internal static class ProduceResponseReader
{
    /// <summary>Fills in every answered entry; returns the throttle time the broker reported.</summary>
    /// <exception cref="KafkaProtocolException">The response is malformed.</exception>
    public static int Read(ResponseFrame frame, short version, ProtocolLimits limits, ProduceRequestSet set)
    {
        var reader = new KafkaReader(frame.Memory.Span, limits) { NullAsEmpty = true };
        ResponseHeader.Read(ref reader, ResponseHeader.VersionFor(ApiKey.Produce, Protocol.Messages.ProduceResponse.IsFlexible(version)));
        reader.MessageName = "ProduceResponse";
        var cursor = 0;
        var topics = reader.ReadCompactArrayLength("Responses");
        for (var t = 0; t < topics; t++)
        {
            var name = reader.ReadBytesSpan(compact: true, "TopicProduceResponse.Name");
            var partitions = reader.ReadCompactArrayLength("TopicProduceResponse.PartitionResponses");
            for (var p = 0; p < partitions; p++)
            {
                var index = reader.ReadInt32("PartitionProduceResponse.Index");
                var code = (ErrorCode)reader.ReadInt16("PartitionProduceResponse.ErrorCode");
                var baseOffset = reader.ReadInt64("PartitionProduceResponse.BaseOffset");
                var logAppendTime = reader.ReadInt64("PartitionProduceResponse.LogAppendTimeMs");
                var logStartOffset = reader.ReadInt64("PartitionProduceResponse.LogStartOffset");
                var recordErrors = reader.ReadCompactArrayLength("PartitionProduceResponse.RecordErrors");
                string? firstRecordError = null;
                for (var e = 0; e < recordErrors; e++)
                {
                    reader.ReadInt32("BatchIndexAndErrorMessage.BatchIndex");
                    var message = reader.ReadCompactNullableString("BatchIndexAndErrorMessage.BatchIndexErrorMessage");
                    firstRecordError ??= message;
                    reader.SkipTaggedFields();
                }

                var errorMessage = reader.ReadCompactNullableString("PartitionProduceResponse.ErrorMessage") ?? firstRecordError;
                reader.SkipTaggedFields();

                var match = Find(set, ref cursor, name, index);
                if (match >= 0)
                {
                    ref var entry = ref set[match];
                    entry.Answered = true;
                    entry.Code = code;
                    entry.BaseOffset = baseOffset;
                    entry.LogAppendTimeMs = logAppendTime;
                    entry.LogStartOffset = logStartOffset;
                    entry.ErrorMessage = errorMessage;
                }
            }

            reader.SkipTaggedFields();
        }

        var throttle = reader.ReadInt32("ThrottleTimeMs");
        reader.SkipTaggedFields();
        return throttle;
    }

    private static int Find(ProduceRequestSet set, ref int cursor, ReadOnlySpan<byte> topic, int partition)
    {
        if (cursor < set.Count && Matches(ref set[cursor], topic, partition))
        {
            return cursor++;
        }

        for (var i = 0; i < set.Count; i++)
        {
            if (!set[i].Answered && Matches(ref set[i], topic, partition))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool Matches(ref ProduceRequestSet.Entry entry, ReadOnlySpan<byte> topic, int partition) =>
        entry.Partition.Partition == partition && topic.SequenceEqual(entry.Partition.Topic.NameUtf8);
}
