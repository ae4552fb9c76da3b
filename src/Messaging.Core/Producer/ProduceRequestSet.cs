using Messaging.Protocol;

namespace Messaging.Producer;

/// <summary>
/// The batches drained for one Produce request to one broker (one batch per partition), with room for each
/// partition's answer. Pooled per sender and reused, so building and answering a request allocates nothing.
/// </summary>
internal sealed class ProduceRequestSet
{
    private Entry[] _entries = new Entry[16];

    public int Count { get; private set; }

    /// <summary>The connection the request went out on (its response's throttle is reported to it).</summary>
    public Connection.BrokerConnection? Connection { get; set; }

    /// <summary>The broker the request went out to (for errors and logs).</summary>
    public string Broker => Connection?.Name ?? "";

    /// <summary>The Produce version the request was encoded at.</summary>
    public short Version { get; set; }

    /// <summary>False for acks=0: nothing comes back, the request is done once written.</summary>
    public bool ExpectsResponse { get; set; }

    /// <summary>The pending response (acks 1 and all); awaited once, by the sender's response loop.</summary>
    public ValueTask<Connection.ResponseFrame> Response { get; set; }

    /// <summary>The pending write (acks=0); awaited once, by the sender's response loop.</summary>
    public ValueTask Written { get; set; }

    public ref Entry this[int index] => ref _entries[index];

    /// <summary>Estimated encoded size so far (batches plus per-topic and per-partition overhead).</summary>
    public int EstimatedSize { get; private set; }

    public void Add(PartitionState partition, ProducerBatch batch)
    {
        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        _entries[Count++] = new Entry(partition, batch);
        EstimatedSize += batch.Length + 16 + partition.Topic.NameUtf8.Length;
    }

    /// <summary>Takes back the entry added last (its batch failed before it could go out); <paramref name="estimatedSizeBefore"/> is <see cref="EstimatedSize"/> before it was added.</summary>
    public void RemoveLast(int estimatedSizeBefore)
    {
        _entries[--Count] = default;
        EstimatedSize = estimatedSizeBefore;
    }

    /// <summary>
    /// About the size of the encoded request once every batch is sealed (compression shrinks a batch after it was
    /// added): the batches, each partition's and topic's fields, and room for the request header. The connection
    /// sizes the request's buffer with it once, instead of growing it by doubling.
    /// </summary>
    public int EncodedSizeHint
    {
        get
        {
            long size = 128; // size prefix, request header (client id aside), acks, timeout, counts
            for (var i = 0; i < Count; i++)
            {
                ref var entry = ref _entries[i];
                size += entry.Batch.Length + 16 + entry.Partition.Topic.NameUtf8.Length;
            }

            return (int)Math.Min(size, Array.MaxLength);
        }
    }

    /// <summary>Orders the entries by topic, then partition: the request lists each topic once.</summary>
    public void Sort() => _entries.AsSpan(0, Count).Sort(default(EntryOrder));

    public void Clear()
    {
        _entries.AsSpan(0, Count).Clear();
        Count = 0;
        EstimatedSize = 0;
        Connection = null;
    }

    /// <summary>One partition's batch in the request, and what the broker said about it.</summary>
    internal struct Entry(PartitionState partition, ProducerBatch batch)
    {
        public PartitionState Partition { get; } = partition;

        public ProducerBatch Batch { get; } = batch;

        public bool Answered { get; set; }

        public ErrorCode Code { get; set; }

        public long BaseOffset { get; set; }

        public long LogAppendTimeMs { get; set; }

        public long LogStartOffset { get; set; }

        public string? ErrorMessage { get; set; }
    }

    private readonly struct EntryOrder : IComparer<Entry>
    {
        public int Compare(Entry x, Entry y)
        {
            var byTopic = x.Partition.Topic.Id.CompareTo(y.Partition.Topic.Id);
            return byTopic != 0 ? byTopic : x.Partition.Partition.CompareTo(y.Partition.Partition);
        }
    }
}

/// <summary>
/// Encodes a Produce request body (v9-11, flexible) straight from a <see cref="ProduceRequestSet"/>: each topic
/// once, each partition's sealed batch copied in as its <c>records</c>. A struct dispatched statically by
/// <c>KafkaFrames.WriteRequest</c>, so encoding boxes and allocates nothing.
/// </summary>
internal readonly struct ProduceRequestWriter(ProduceRequestSet set, Acks acks, int timeoutMs) : IKafkaMessage<ProduceRequestWriter>
{
    public static ApiKey ApiKey => ApiKey.Produce;

    public static short MinVersion => Protocol.Messages.ProduceRequest.MinVersion;

    public static short MaxVersion => Protocol.Messages.ProduceRequest.MaxVersion;

    public static bool IsFlexible(short version) => Protocol.Messages.ProduceRequest.IsFlexible(version);

    public static ProduceRequestWriter Read(ref KafkaReader reader, short version) =>
        throw new NotSupportedException("The producer only writes Produce requests.");

    public void Write(ref KafkaWriter writer, short version)
    {
        writer.WriteCompactNullableString(null); // transactional id: an idempotent producer is not transactional
        writer.WriteInt16((short)acks);
        writer.WriteInt32(timeoutMs);
        var count = set.Count;
        var topics = 0;
        for (var i = 0; i < count; i++)
        {
            if (i == 0 || !ReferenceEquals(set[i].Partition.Topic, set[i - 1].Partition.Topic))
            {
                topics++;
            }
        }

        writer.WriteCompactArrayLength(topics);
        var start = 0;
        while (start < count)
        {
            var topic = set[start].Partition.Topic;
            var end = start + 1;
            while (end < count && ReferenceEquals(set[end].Partition.Topic, topic))
            {
                end++;
            }

            writer.WriteCompactBytes(topic.NameUtf8); // a compact string is length + 1, then UTF-8
            writer.WriteCompactArrayLength(end - start);
            for (var i = start; i < end; i++)
            {
                ref var entry = ref set[i];
                writer.WriteInt32(entry.Partition.Partition);
                writer.WriteCompactBytes(entry.Batch.Wire.Span);
                writer.WriteEmptyTaggedFields();
            }

            writer.WriteEmptyTaggedFields();
            start = end;
        }

        writer.WriteEmptyTaggedFields();
    }
}
