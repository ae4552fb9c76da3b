using System.Runtime.ExceptionServices;
using Messaging.Serialization;

namespace Messaging.Hosting;

/// <summary>
/// What the hosted consumer's deserializers saw of the record being read: a deserialization failure, and — when dead
/// letters are on — copies of the raw key and value, so a dead letter carries the original bytes (the typed record
/// holds only the deserialized objects, and the pooled bytes are recycled as soon as it is built).
/// </summary>
/// <remarks>
/// Written by <see cref="CapturingDeserializer{T}"/> on the consuming thread while a record is materialized and read
/// by the consume loop right after that record is handed out, on the same thread: no synchronization needed.
/// Without dead letters nothing is copied; a failure is still caught, so one bad record does not hold its partition
/// inside the consumer (it is handled by the hosted consumer's policy, in partition order).
/// </remarks>
internal sealed class RecordCapture(bool copyBytes)
{
    public bool CopyBytes { get; } = copyBytes;

    public TopicPartition Partition { get; private set; }

    public long Offset { get; private set; } = -1;

    public byte[]? Key { get; private set; }

    public byte[]? Value { get; private set; }

    public ExceptionDispatchInfo? Failure { get; private set; }

    /// <summary>Called for the key and then the value of each record.</summary>
    public void Saw(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context)
    {
        if (context.Component == RecordComponent.Key)
        {
            Partition = new TopicPartition(context.Topic, context.Partition);
            Offset = context.Offset;
            Failure = null;
            Key = CopyBytes && !isNull ? data.ToArray() : null;
            Value = null;
        }
        else if (CopyBytes && !isNull)
        {
            Value = data.ToArray();
        }
    }

    public void Failed(Exception exception) => Failure ??= ExceptionDispatchInfo.Capture(exception);

    /// <summary>True when the key or value of the record at <paramref name="offset"/> of <paramref name="partition"/> failed to deserialize.</summary>
    public bool FailedFor(TopicPartition partition, long offset) => Failure is not null && Offset == offset && Partition == partition;
}

/// <summary>
/// Wraps a deserializer: reports the raw bytes to a <see cref="RecordCapture"/> and turns a failure into the type's
/// default value plus a captured exception (the consume loop sees it and never hands that record to the handler).
/// </summary>
internal sealed class CapturingDeserializer<T>(IDeserializer<T> inner, RecordCapture capture) : IDeserializer<T>
{
    public T Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context)
    {
        capture.Saw(data, isNull, context);
        try
        {
            return inner.Deserialize(data, isNull, context);
        }
#pragma warning disable CA1031 // Any deserializer failure is this record's failure; it goes to the dead-letter policy.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            capture.Failed(ex);
            return default!;
        }
    }
}
