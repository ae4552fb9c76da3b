namespace Messaging;

/// <summary>Why a record was not delivered: what the caller can do about it depends on this.</summary>
public enum ProduceErrorKind
{
    /// <summary>The broker answered with an error code (<see cref="ProduceException.Code"/>) that is not retriable,
    /// or retries stopped (the batch is failed with the last error the broker gave).</summary>
    Broker = 0,

    /// <summary><c>delivery.timeout.ms</c> passed before the record was acknowledged; <see cref="Exception.InnerException"/>
    /// holds the last error seen, if any. The record may or may not have been written.</summary>
    DeliveryTimeout = 1,

    /// <summary><c>buffer.memory</c> stayed full for <c>max.block.ms</c>; the record was never buffered.</summary>
    BufferExhausted = 2,

    /// <summary>The topic's metadata did not arrive within <c>max.block.ms</c> (the topic may not exist); the record was never buffered.</summary>
    MetadataTimeout = 3,

    /// <summary>The record is larger than <c>max.request.size</c> or <c>buffer.memory</c> (it was never buffered), or
    /// the broker refused it as too large on its own (<see cref="ErrorCode.MessageTooLarge"/>: larger than the topic's
    /// <c>max.message.bytes</c>, or <see cref="ErrorCode.RecordListTooLarge"/>); a refused batch of several records is
    /// split and sent again first.</summary>
    RecordTooLarge = 4,

    /// <summary>The producer was disposed before the record could be delivered within <c>CloseTimeout</c>.</summary>
    Disposed = 5,

    /// <summary>The producer can no longer produce with its producer id (for example, the broker rejected its
    /// InitProducerId request with a non-retriable error).</summary>
    Fatal = 6,
}
