namespace Messaging;

/// <summary>Where a delivered record landed: its topic, partition, offset and timestamp.</summary>
/// <remarks>A value type: reporting a delivery allocates nothing.</remarks>
public readonly struct DeliveryResult : IEquatable<DeliveryResult>
{
    /// <summary>Creates a result.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="offset">The offset, or -1 when unknown (acks=0).</param>
    /// <param name="timestamp">The record's create time, or the broker's log-append time.</param>
    public DeliveryResult(string topic, int partition, long offset, Timestamp timestamp)
    {
        Topic = topic;
        Partition = partition;
        Offset = offset;
        Timestamp = timestamp;
    }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The partition, or -1 if the record failed before a partition was chosen.</summary>
    public int Partition { get; }

    /// <summary>The record's offset, or -1 when unknown (acks=0, or the record failed).</summary>
    public long Offset { get; }

    /// <summary>The record's create time, or the broker's log-append time when the topic uses <c>LogAppendTime</c> (the broker reports it).</summary>
    public Timestamp Timestamp { get; }

    /// <summary>The topic and partition.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);

    /// <summary>Equal when every field is.</summary>
    public static bool operator ==(DeliveryResult left, DeliveryResult right) => left.Equals(right);

    /// <summary>Different when any field is.</summary>
    public static bool operator !=(DeliveryResult left, DeliveryResult right) => !left.Equals(right);

    /// <inheritdoc />
    public bool Equals(DeliveryResult other) =>
        string.Equals(Topic, other.Topic, StringComparison.Ordinal) && Partition == other.Partition && Offset == other.Offset &&
        Timestamp == other.Timestamp;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is DeliveryResult other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Topic, Partition, Offset, Timestamp);

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Topic}/{Partition}@{Offset}");
}
