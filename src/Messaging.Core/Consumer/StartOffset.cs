using System.Globalization;

namespace Messaging.Consumer;

/// <summary>
/// Where a partition starts being read: an exact offset, the earliest offset still in the log, the latest (the end),
/// or the first offset whose record timestamp is at or after a time (looked up with ListOffsets).
/// </summary>
public readonly record struct StartOffset
{
    private const long EarliestValue = -2;
    private const long LatestValue = -1;

    private StartOffset(long value, bool isTimestamp)
    {
        Value = value;
        IsTimestamp = isTimestamp;
    }

    /// <summary>The earliest offset still in the log (the log start offset).</summary>
    public static StartOffset Earliest { get; } = new(EarliestValue, false);

    /// <summary>The end of the log: only records produced from now on.</summary>
    public static StartOffset Latest { get; } = new(LatestValue, false);

    /// <summary>True for <see cref="Earliest"/>.</summary>
    public bool IsEarliest => !IsTimestamp && Value == EarliestValue;

    /// <summary>True for <see cref="Latest"/>.</summary>
    public bool IsLatest => !IsTimestamp && Value == LatestValue;

    /// <summary>True for an exact offset (<see cref="At"/>).</summary>
    public bool IsOffset => !IsTimestamp && Value >= 0;

    /// <summary>True for a timestamp (<see cref="AtTimestamp"/>).</summary>
    public bool IsTimestamp { get; }

    /// <summary>The offset (for <see cref="IsOffset"/>), the Unix-millisecond timestamp (for <see cref="IsTimestamp"/>), or -2/-1 for earliest/latest.</summary>
    public long Value { get; }

    /// <summary>An exact offset.</summary>
    /// <param name="offset">The offset, at least 0.</param>
    /// <returns>The start offset.</returns>
    public static StartOffset At(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return new StartOffset(offset, false);
    }

    /// <summary>The first record whose timestamp is at or after <paramref name="time"/>; the end of the log when there is none.</summary>
    /// <param name="time">The time, not before 1970.</param>
    /// <returns>The start offset.</returns>
    public static StartOffset AtTimestamp(DateTimeOffset time)
    {
        long milliseconds = time.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, nameof(time));
        return new StartOffset(milliseconds, true);
    }

    /// <summary>An exact offset.</summary>
    /// <param name="offset">The offset.</param>
    public static implicit operator StartOffset(long offset) => At(offset);

    /// <summary>An exact offset (the implicit conversion's named alternative).</summary>
    /// <param name="offset">The offset.</param>
    /// <returns>The start offset.</returns>
    public static StartOffset FromInt64(long offset) => At(offset);

    /// <inheritdoc/>
    public override string ToString() =>
        IsTimestamp ? "timestamp " + Value.ToString(CultureInfo.InvariantCulture)
        : IsEarliest ? "earliest"
        : IsLatest ? "latest"
        : Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A partition and where to start reading it.</summary>
/// <param name="TopicPartition">The partition.</param>
/// <param name="Start">Where to start.</param>
public readonly record struct TopicPartitionOffset(TopicPartition TopicPartition, StartOffset Start)
{
    /// <summary>Creates one from a topic, a partition and a start.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="start">Where to start.</param>
    public TopicPartitionOffset(string topic, int partition, StartOffset start)
        : this(new TopicPartition(topic, partition), start)
    {
    }
}

/// <summary><c>auto.offset.reset</c>: what to do when the position is not in the log (OFFSET_OUT_OF_RANGE).</summary>
public enum AutoOffsetReset
{
    /// <summary>Go to the end of the log (Kafka's default).</summary>
    Latest,

    /// <summary>Go to the earliest offset still in the log.</summary>
    Earliest,

    /// <summary>Fail: the consume call throws a <see cref="ConsumeException"/> and the partition is held until the application seeks.</summary>
    Error,
}
