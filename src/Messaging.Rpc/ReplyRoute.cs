using System.Buffers.Binary;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// Where this client's replies go, as requests name it: the reply topic and partition header values, encoded once.
/// Every request names a partition the client reads, so a replier never places a reply where the client does not read.
/// </summary>
/// <remarks>
/// Reading every partition of a shared topic, the client names one of them per call, chosen from the correlation ID
/// (random, so calls spread over the partitions; a call's retries and hedges name the same one). Named by key
/// instead, a reply would follow the replier's partition count: a replier that saw partitions added before this
/// client did would place replies where the client does not read yet, and their calls would wait for the client's
/// next look-up (<see cref="KafkaClientOptions.MetadataMaxAge"/>), past their deadlines. A replier that does not know
/// a named partition yet looks it up before it replies (its producer refreshes its metadata for it).
/// </remarks>
internal sealed class ReplyRoute
{
    /// <summary>The partition header values: the one partition, or every partition read, by number.</summary>
    private readonly byte[][] _partitions;

    /// <summary>A route to one partition, named in every request.</summary>
    public ReplyRoute(string topic, int partition)
        : this(topic, partition, Encoding.UTF8.GetBytes(topic), [RpcWire.EncodeInt32(partition)])
    {
    }

    private ReplyRoute(string topic, int partition, byte[] topicBytes, byte[][] partitions)
    {
        Topic = topic;
        Partition = partition;
        TopicBytes = topicBytes;
        _partitions = partitions;
    }

    public string Topic { get; }

    /// <summary>The one partition requests name, or -1 when the client reads every partition (each request names one of them).</summary>
    public int Partition { get; }

    public byte[] TopicBytes { get; }

    /// <summary>How many partitions requests name (one, or every partition read).</summary>
    public int PartitionCount => _partitions.Length;

    /// <summary>A route over partitions 0 to <paramref name="count"/> - 1 of <paramref name="topic"/>, all read by the client.</summary>
    public static ReplyRoute AllPartitions(string topic, int count) => new(topic, -1, Encoding.UTF8.GetBytes(topic), Encode(0, count, []));

    /// <summary>
    /// This route over <paramref name="count"/> partitions, once the client reads the ones added (the values of those
    /// named already are kept); this route itself when it names as many or more, or names one partition only.
    /// </summary>
    public ReplyRoute WithPartitions(int count) =>
        Partition >= 0 || count <= _partitions.Length ? this : new(Topic, -1, TopicBytes, Encode(_partitions.Length, count, _partitions));

    /// <summary>The partition header value of the call with <paramref name="correlationId"/> (its 16 bytes).</summary>
    public byte[] PartitionBytes(ReadOnlySpan<byte> correlationId) =>
        _partitions.Length == 1 ? _partitions[0] : _partitions[(int)(BinaryPrimitives.ReadUInt32LittleEndian(correlationId) % (uint)_partitions.Length)];

    private static byte[][] Encode(int from, int count, byte[][] known)
    {
        var partitions = new byte[count][];
        known.AsSpan().CopyTo(partitions);
        for (var i = from; i < count; i++)
        {
            partitions[i] = RpcWire.EncodeInt32(i);
        }

        return partitions;
    }
}
