using System.Buffers.Binary;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Testing.Security;

/// <summary>
/// What the proxy reads and changes in a Fetch to answer it as a Kafka broker does when records arrive
/// (<see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/>): the request's wait and minimum bytes, a copy of the
/// request that does not wait, and whether a response holds enough to be answered before the wait ends.
/// </summary>
/// <remarks>Versions 12 to 17 (the flexible ones, which every current client sends); others pass through unchanged.</remarks>
internal static class FetchWait
{
    /// <summary>
    /// Reads the wait of a Fetch request frame (with its size prefix): its <c>MaxWaitMs</c>, its <c>MinBytes</c> and where
    /// <c>MaxWaitMs</c> is in the frame. False for a version this does not read or bytes that are not a Fetch request.
    /// </summary>
    public static bool TryRead(byte[] frame, short version, out int maxWaitMs, out int minBytes, out int maxWaitOffset)
    {
        maxWaitMs = 0;
        minBytes = 0;
        maxWaitOffset = 0;
        if (version < FetchRequest.MinVersion || version > FetchRequest.MaxVersion)
        {
            return false;
        }

        try
        {
            var reader = new KafkaReader(frame.AsSpan(4));
            RequestHeader.Read(ref reader, RequestHeader.VersionFor(flexible: true));
            if (version <= 14)
            {
                reader.ReadInt32("ReplicaId"); // from version 15 the replica's state is a tagged field at the end
            }

            maxWaitOffset = 4 + reader.Position;
            maxWaitMs = reader.ReadInt32("MaxWaitMs");
            minBytes = reader.ReadInt32("MinBytes");
            return true;
        }
        catch (KafkaProtocolException)
        {
            return false;
        }
    }

    /// <summary>A copy of <paramref name="frame"/> whose <c>MaxWaitMs</c> is 0: the broker answers it with what it has at once.</summary>
    public static byte[] WithoutWait(byte[] frame, int maxWaitOffset)
    {
        var copy = (byte[])frame.Clone();
        BinaryPrimitives.WriteInt32BigEndian(copy.AsSpan(maxWaitOffset), 0);
        return copy;
    }

    /// <summary>
    /// True when a broker would answer this Fetch response now rather than wait on: it carries at least
    /// <paramref name="minBytes"/> (at least one) bytes of records, an error (top-level or a partition's), a diverging
    /// epoch or a preferred read replica — or some records of a partition whose log holds more than it returned.
    /// Also true for a response that cannot be read (it is passed on as it is).
    /// </summary>
    /// <remarks>
    /// The last case is the mock's: it returns one stored batch per partition per Fetch, so asking again cannot add up to
    /// a minimum of bytes that more batches would reach; a Kafka broker would have returned them together, and the
    /// client's next Fetch gets the rest at once.
    /// </remarks>
    public static bool IsAnswer(byte[] frame, short version, int minBytes)
    {
        FetchResponse response;
        try
        {
            response = KafkaFrames.ReadResponse<FetchResponse>(frame.AsMemory(4), version, null, out _);
        }
        catch (KafkaProtocolException)
        {
            return true;
        }

        if (response.ErrorCode != ErrorCode.None)
        {
            return true;
        }

        long bytes = 0;
        var moreInLog = false;
        foreach (var topic in response.Responses)
        {
            foreach (var partition in topic.Partitions)
            {
                if (partition.ErrorCode != ErrorCode.None || partition.HasDivergingEpoch || partition.PreferredReadReplica >= 0)
                {
                    return true;
                }

                if (partition.Records is { Length: > 0 } records)
                {
                    bytes += records.Length;
                    var end = EndOffset(records.Span);
                    moreInLog |= end >= 0 && end < partition.HighWatermark;
                }
            }
        }

        return bytes >= Math.Max(1, minBytes) || (bytes > 0 && moreInLog);
    }

    /// <summary>
    /// The offset after the last whole record batch in <paramref name="records"/> (each batch: base offset at 0, length
    /// at 8 counting from 12, last offset delta at 23), or -1 when no whole batch header is there.
    /// </summary>
    internal static long EndOffset(ReadOnlySpan<byte> records)
    {
        const int LengthEnd = 12;
        const int LastOffsetDeltaAt = 23;
        long end = -1;
        var position = 0;
        while (records.Length - position >= LastOffsetDeltaAt + 4)
        {
            var batch = records[position..];
            var length = BinaryPrimitives.ReadInt32BigEndian(batch[8..]);
            if (length < LastOffsetDeltaAt + 4 - LengthEnd || length > batch.Length - LengthEnd)
            {
                break; // a partial batch at the end (the broker cut it at the byte limit), or not a batch
            }

            end = BinaryPrimitives.ReadInt64BigEndian(batch) + BinaryPrimitives.ReadInt32BigEndian(batch[LastOffsetDeltaAt..]) + 1;
            position += LengthEnd + length;
        }

        return end;
    }
}
