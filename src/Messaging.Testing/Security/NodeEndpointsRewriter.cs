using System.Buffers.Binary;
using Messaging.Protocol;

namespace Messaging.Testing.Security;

/// <summary>
/// Rewrites the broker addresses in the <c>NodeEndpoints</c> a Produce (v10+) or Fetch (v16+) response carries
/// (KIP-951: with NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH the broker names the new leader, and clients such as
/// librdkafka 2.x and Java's connect to it without asking for Metadata). Each endpoint the proxy fronts gets the
/// listener's address, as in Metadata (<see cref="KafkaProxy.AdvertisedAddress"/>); without that a client would learn
/// the broker's own address and connect around the proxy.
/// </summary>
/// <remarks>
/// <para>Cost: most of these responses carry no NodeEndpoints, and Fetch responses carry records, so the frame is not
/// decoded: the walk to the top-level tagged fields reads only the fixed-size fields' positions, array counts and
/// lengths (records are skipped by their length, never read or copied), allocates nothing, and is a handful of reads
/// per topic and partition (about 0.2 µs for a Fetch response of 8 partitions of 16 KB each, against 0.45 µs and 1.1 KB
/// to decode it, before re-encoding copied its 128 KB). Only a frame whose tagged fields hold NodeEndpoints naming a
/// broker the proxy fronts is copied, once: its bytes before the field, the rewritten field, and its bytes after it, so
/// records and every other field pass byte-identical.</para>
/// <para>The walk knows the layouts of Produce 10 to 11 and Fetch 16 to 17; ApiVersions offers clients no later
/// version (<see cref="ProduceLastVersion"/>, <see cref="FetchLastVersion"/>), as it does for Metadata.</para>
/// </remarks>
internal static class NodeEndpointsRewriter
{
    /// <summary>The last Produce version whose layout the walk knows.</summary>
    public const short ProduceLastVersion = 11;

    /// <summary>The last Fetch version whose layout the walk knows.</summary>
    public const short FetchLastVersion = 17;

    private const short ProduceFirstVersion = 10;
    private const short FetchFirstVersion = 16;
    private const uint NodeEndpointsTag = 0;

    /// <summary>The rewritten frame (with its size prefix), or null to pass <paramref name="frame"/> on unchanged.</summary>
    /// <exception cref="KafkaProtocolException">The frame is not a response of this layout (truncated, or other bytes).</exception>
    public static byte[]? Rewrite(KafkaProxy proxy, ApiKey api, short version, byte[] frame)
    {
        var isProduce = api == ApiKey.Produce && version is >= ProduceFirstVersion and <= ProduceLastVersion;
        var isFetch = api == ApiKey.Fetch && version is >= FetchFirstVersion and <= FetchLastVersion;
        if (!isProduce && !isFetch)
        {
            return null;
        }

        var reader = new KafkaReader(frame.AsMemory(4)) { NullAsEmpty = true };
        _ = reader.ReadInt32("CorrelationId");
        reader.SkipTaggedFields(); // the response header's (v1)
        if (isProduce)
        {
            SkipProduceBody(ref reader);
        }
        else
        {
            SkipFetchBody(ref reader);
        }

        var tags = reader.ReadTaggedFieldCount();
        for (var i = 0; i < tags; i++)
        {
            var fieldStart = reader.Position;
            var tag = reader.ReadTaggedFieldHeader(out var size);
            if (tag != NodeEndpointsTag)
            {
                reader.Skip(size);
                continue;
            }

            var valueStart = reader.Position;
            var value = frame.AsSpan(4 + valueStart, size);
            var rewritten = RewriteEndpoints(proxy, value);
            return rewritten is null ? null : Splice(frame, 4 + fieldStart, 4 + valueStart + size, rewritten);
        }

        return null;
    }

    private static void SkipProduceBody(ref KafkaReader reader)
    {
        var topics = reader.ReadCompactArrayLength("Responses");
        for (var t = 0; t < topics; t++)
        {
            _ = reader.ReadBytesSpan(compact: true, "Name");
            var partitions = reader.ReadCompactArrayLength("PartitionResponses");
            for (var p = 0; p < partitions; p++)
            {
                reader.Skip(4 + 2 + 8 + 8 + 8, "Index..LogStartOffset");
                var recordErrors = reader.ReadCompactArrayLength("RecordErrors");
                for (var e = 0; e < recordErrors; e++)
                {
                    reader.Skip(4, "BatchIndex");
                    _ = reader.ReadCompactNullableBytes("BatchIndexErrorMessage");
                    reader.SkipTaggedFields();
                }

                _ = reader.ReadCompactNullableBytes("ErrorMessage");
                reader.SkipTaggedFields(); // CurrentLeader: a node id and an epoch, no address
            }

            reader.SkipTaggedFields();
        }

        reader.Skip(4, "ThrottleTimeMs");
    }

    private static void SkipFetchBody(ref KafkaReader reader)
    {
        reader.Skip(4 + 2 + 4, "ThrottleTimeMs..SessionId");
        var topics = reader.ReadCompactArrayLength("Responses");
        for (var t = 0; t < topics; t++)
        {
            reader.Skip(16, "TopicId");
            var partitions = reader.ReadCompactArrayLength("Partitions");
            for (var p = 0; p < partitions; p++)
            {
                reader.Skip(4 + 2 + 8 + 8 + 8, "PartitionIndex..LogStartOffset");
                var aborted = reader.ReadCompactNullableArrayLength("AbortedTransactions");
                for (var a = 0; a < aborted; a++)
                {
                    reader.Skip(8 + 8, "ProducerId..FirstOffset");
                    reader.SkipTaggedFields();
                }

                reader.Skip(4, "PreferredReadReplica");
                _ = reader.ReadRecords(compact: true, "Records"); // a slice of the frame: not read, not copied
                reader.SkipTaggedFields(); // CurrentLeader: a node id and an epoch, no address
            }

            reader.SkipTaggedFields();
        }
    }

    /// <summary>The NodeEndpoints value with the proxy's address for each broker it fronts; null when it fronts none of them.</summary>
    private static byte[]? RewriteEndpoints(KafkaProxy proxy, ReadOnlySpan<byte> value)
    {
        var reader = new KafkaReader(value) { NullAsEmpty = true };
        using var output = new ContiguousBufferWriter(value.Length + 32);
        var writer = new KafkaWriter(output);
        var changed = false;
        var count = reader.ReadCompactArrayLength("NodeEndpoints");
        writer.WriteCompactArrayLength(count);
        for (var i = 0; i < count; i++)
        {
            var start = reader.Position;
            var nodeId = reader.ReadInt32("NodeId");
            var host = reader.ReadCompactString("Host");
            var port = reader.ReadInt32("Port");
            var rest = reader.Position;
            _ = reader.ReadCompactNullableBytes("Rack");
            reader.SkipTaggedFields();
            if (proxy.AdvertisedAddress(host, port, nodeId) is { } advertised)
            {
                changed = true;
                writer.WriteInt32(nodeId);
                writer.WriteCompactString(advertised.Host);
                writer.WriteInt32(advertised.Port);
                writer.WriteRawBytes(value[rest..reader.Position]); // Rack and the endpoint's tagged fields, as they were
            }
            else
            {
                writer.WriteRawBytes(value[start..reader.Position]);
            }
        }

        reader.EnsureEnd("NodeEndpoints");
        writer.Flush();
        return changed ? output.WrittenMemory.ToArray() : null;
    }

    /// <summary>
    /// <paramref name="frame"/> with the tagged field in [<paramref name="fieldStart"/>, <paramref name="fieldEnd"/>)
    /// replaced by the NodeEndpoints field holding <paramref name="value"/>, and its size prefix set to the new size.
    /// </summary>
    private static byte[] Splice(byte[] frame, int fieldStart, int fieldEnd, byte[] value)
    {
        using var output = new ContiguousBufferWriter(frame.Length - (fieldEnd - fieldStart) + value.Length + 10);
        var writer = new KafkaWriter(output);
        writer.WriteRawBytes(frame.AsSpan(0, fieldStart));
        writer.WriteTaggedFieldHeader(NodeEndpointsTag, value.Length);
        writer.WriteRawBytes(value);
        writer.WriteRawBytes(frame.AsSpan(fieldEnd));
        writer.Flush();
        var spliced = output.WrittenMemory.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(spliced, spliced.Length - 4);
        return spliced;
    }
}
