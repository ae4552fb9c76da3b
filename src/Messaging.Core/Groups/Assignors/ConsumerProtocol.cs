using System.Buffers;
using Messaging.Protocol;

namespace Messaging.Groups.Assignors;

/// <summary>
/// Encodes and decodes the consumer protocol's subscription (JoinGroup member metadata) and assignment (SyncGroup
/// member state), versions 0 to 3, byte for byte as the Java client's <c>ConsumerProtocol</c> does, so members of a
/// group may mix this client, the Java client and librdkafka.
/// </summary>
/// <remarks>
/// <para>Both are non-flexible "data" messages (ConsumerProtocolSubscription.json, ConsumerProtocolAssignment.json)
/// behind an int16 version. As in Java, a version above the highest known one is read as the highest (newer versions
/// only append fields) and bytes after the known fields are ignored; a negative version is malformed.</para>
/// <para>Decoding is bounded: <see cref="KafkaReader"/> checks every length and count against the remaining bytes and
/// <see cref="ProtocolLimits"/> before allocating, and malformed input throws only <see cref="KafkaProtocolException"/>.
/// Decoders read a span and copy user data out of it, so the result never refers to the caller's buffer, which may be
/// a pooled response buffer.</para>
/// </remarks>
internal static class ConsumerProtocol
{
    /// <summary>The protocol type of consumer groups in JoinGroup.</summary>
    public const string ProtocolType = "consumer";

    /// <summary>The lowest version of both messages.</summary>
    public const short LowestVersion = 0;

    /// <summary>The highest version of both messages, and the one written by default.</summary>
    public const short HighestVersion = 3;

    private const string SubscriptionName = "ConsumerProtocolSubscription";
    private const string AssignmentName = "ConsumerProtocolAssignment";

    /// <summary>Encodes <paramref name="subscription"/> in <paramref name="version"/> (above 3 writes 3), behind its int16 version.</summary>
    /// <param name="subscription">The subscription.</param>
    /// <param name="version">The version; fields the version cannot carry are left out, as Java does (all are ignorable).</param>
    /// <returns>The encoded bytes.</returns>
    /// <remarks>Like Java, topics are written sorted and owned partitions sorted by topic then partition, grouped by topic.</remarks>
    public static byte[] SerializeSubscription(ConsumerSubscription subscription, short version = HighestVersion)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        version = CheckWriteVersion(version);

        string[] topics = [.. subscription.Topics];
        Array.Sort(topics, StringComparer.Ordinal);

        var output = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(output);
        writer.WriteInt16(version);
        writer.WriteArrayLength(topics.Length);
        foreach (string topic in topics)
        {
            writer.WriteString(topic);
        }

        writer.WriteNullableBytes(subscription.UserData);
        if (version >= 1)
        {
            TopicPartition[] owned = [.. subscription.OwnedPartitions];
            Array.Sort(owned, TopicPartitionOrder.ByTopicThenPartition);
            WriteGrouped(ref writer, owned);
        }

        if (version >= 2)
        {
            writer.WriteInt32(subscription.GenerationId ?? -1);
        }

        if (version >= 3)
        {
            writer.WriteNullableString(subscription.RackId);
        }

        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a version-prefixed subscription.</summary>
    /// <param name="data">The bytes; user data is copied out of them.</param>
    /// <returns>The subscription (an empty rack id reads as null, a generation of -1 as unknown, as in Java).</returns>
    /// <exception cref="KafkaProtocolException">The bytes are truncated or malformed.</exception>
    public static ConsumerSubscription DeserializeSubscription(ReadOnlySpan<byte> data)
    {
        var reader = new KafkaReader(data) { MessageName = SubscriptionName };
        short version = ReadVersion(ref reader);

        int topicCount = reader.ReadArrayLength("Topics");
        var topics = new string[topicCount];
        for (int i = 0; i < topicCount; i++)
        {
            topics[i] = reader.ReadString("Topics");
        }

        ReadOnlyMemory<byte>? userData = reader.ReadNullableBytes("UserData");
        IReadOnlyList<TopicPartition> owned = version >= 1 ? ReadGrouped(ref reader, "OwnedPartitions") : [];
        int generation = version >= 2 ? reader.ReadInt32("GenerationId") : -1;
        string? rack = version >= 3 ? reader.ReadNullableString("RackId") : null;

        return new ConsumerSubscription(topics)
        {
            UserData = userData,
            OwnedPartitions = owned,
            GenerationId = generation,
            RackId = string.IsNullOrEmpty(rack) ? null : rack,
        };
    }

    /// <summary>Encodes <paramref name="assignment"/> in <paramref name="version"/> (above 3 writes 3), behind its int16 version.</summary>
    /// <param name="assignment">The assignment.</param>
    /// <param name="version">The version (all versions share one layout).</param>
    /// <returns>The encoded bytes.</returns>
    /// <remarks>Like Java, partitions are grouped by topic in the order in which each topic first appears.</remarks>
    public static byte[] SerializeAssignment(ConsumerAssignment assignment, short version = HighestVersion)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        version = CheckWriteVersion(version);

        var output = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(output);
        writer.WriteInt16(version);
        WriteGrouped(ref writer, assignment.Partitions);
        writer.WriteNullableBytes(assignment.UserData);
        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a version-prefixed assignment.</summary>
    /// <param name="data">The bytes; user data is copied out of them.</param>
    /// <returns>The assignment.</returns>
    /// <exception cref="KafkaProtocolException">The bytes are truncated or malformed.</exception>
    public static ConsumerAssignment DeserializeAssignment(ReadOnlySpan<byte> data)
    {
        var reader = new KafkaReader(data) { MessageName = AssignmentName };
        _ = ReadVersion(ref reader);
        IReadOnlyList<TopicPartition> partitions = ReadGrouped(ref reader, "AssignedPartitions");
        ReadOnlyMemory<byte>? userData = reader.ReadNullableBytes("UserData");
        return new ConsumerAssignment(partitions) { UserData = userData };
    }

    private static short CheckWriteVersion(short version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, LowestVersion);
        return Math.Min(version, HighestVersion);
    }

    private static short ReadVersion(ref KafkaReader reader)
    {
        short version = reader.ReadInt16("Version");
        if (version < LowestVersion)
        {
            ThrowHelper.ThrowMalformed(reader.MessageName, "Version", 0,
                "version " + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + " is negative");
        }

        // Java's checkSubscriptionVersion/checkAssignmentVersion: a newer version is read with the newest known layout.
        return Math.Min(version, HighestVersion);
    }

    /// <summary>Writes [Topic, [Partition]] entries, one per topic in order of first appearance (Java's mapKey "find or add").</summary>
    private static void WriteGrouped(ref KafkaWriter writer, IReadOnlyList<TopicPartition> partitions)
    {
        var order = new List<string>();
        var byTopic = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (TopicPartition tp in partitions)
        {
            if (!byTopic.TryGetValue(tp.Topic, out List<int>? list))
            {
                list = [];
                byTopic.Add(tp.Topic, list);
                order.Add(tp.Topic);
            }

            list.Add(tp.Partition);
        }

        writer.WriteArrayLength(order.Count);
        foreach (string topic in order)
        {
            writer.WriteString(topic);
            List<int> list = byTopic[topic];
            writer.WriteArrayLength(list.Count);
            foreach (int partition in list)
            {
                writer.WriteInt32(partition);
            }
        }
    }

    private static List<TopicPartition> ReadGrouped(ref KafkaReader reader, string field)
    {
        int topicCount = reader.ReadArrayLength(field);
        var result = new List<TopicPartition>(topicCount);
        for (int i = 0; i < topicCount; i++)
        {
            string topic = reader.ReadString(field);

            // ReadArrayLength bounds the count by the bytes that remain, so the growth below is bounded by the input.
            int partitionCount = reader.ReadArrayLength(field);
            for (int p = 0; p < partitionCount; p++)
            {
                result.Add(new TopicPartition(topic, reader.ReadInt32(field)));
            }
        }

        return result;
    }
}
