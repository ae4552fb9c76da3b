namespace Messaging;

/// <summary><c>auto.offset.reset</c>: what to do when the position is not in the log (OFFSET_OUT_OF_RANGE).</summary>
public enum AutoOffsetReset
{
    /// <summary>Go to the end of the log (Kafka's default).</summary>
    Latest,

    /// <summary>Go to the earliest offset still in the log.</summary>
    Earliest,

    /// <summary>
    /// Fail: the consume call throws a <see cref="ConsumeException"/> and the partition is held until the application
    /// seeks. Also for a log truncated past consumed records (<see cref="ConsumeErrorKind.LogTruncation"/>), which the
    /// other policies answer by moving the position back to where the log diverges.
    /// </summary>
    Error,
}
