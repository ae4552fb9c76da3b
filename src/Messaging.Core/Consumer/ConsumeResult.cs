using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Messaging;

/// <summary>
/// One consumed record on the typed path: key and value deserialized, headers copied — it owns everything it holds
/// and stays valid for good (the pooled bytes it was read from are recycled as soon as it is built).
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
[StructLayout(LayoutKind.Auto)]
[SuppressMessage("Performance", "CA1815:Override equals and operator equals on value types", Justification = "A record, not a value to compare.")]
public readonly struct ConsumeResult<TKey, TValue>
{
    internal ConsumeResult(TopicPartition topicPartition, long offset, Timestamp timestamp, int leaderEpoch, TKey key, TValue value, IReadOnlyList<RecordHeader> headers)
    {
        TopicPartition = topicPartition;
        Offset = offset;
        Timestamp = timestamp;
        LeaderEpoch = leaderEpoch;
        Key = key;
        Value = value;
        Headers = headers;
    }

    /// <summary>The topic and partition.</summary>
    public TopicPartition TopicPartition { get; }

    /// <summary>The topic.</summary>
    public string Topic => TopicPartition.Topic;

    /// <summary>The partition.</summary>
    public int Partition => TopicPartition.Partition;

    /// <summary>The record's offset.</summary>
    public long Offset { get; }

    /// <summary>The record's timestamp: the producer's create time or the broker's log-append time (<see cref="Timestamp.None"/> when the broker has none).</summary>
    public Timestamp Timestamp { get; }

    /// <summary>The partition leader epoch stamped on the record's batch (-1 when unknown).</summary>
    public int LeaderEpoch { get; }

    /// <summary>The deserialized key.</summary>
    public TKey Key { get; }

    /// <summary>The deserialized value.</summary>
    public TValue Value { get; }

    /// <summary>The headers, copied (keys as strings, values as arrays); empty when the record has none.</summary>
    public IReadOnlyList<RecordHeader> Headers { get; }

    /// <inheritdoc/>
    public override string ToString() => TopicPartition + "@" + Offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
