using System.Buffers;

namespace Messaging.Protocol;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> whose committed bytes stay in one contiguous, writable block, so that a
/// <see cref="KafkaWriter"/> can fill a reserved size prefix after the bytes behind it have been written
/// (see <see cref="KafkaWriter.ReserveInt32"/>).
/// </summary>
internal interface IContiguousBufferWriter : IBufferWriter<byte>
{
    /// <summary>The number of bytes committed with <see cref="IBufferWriter{T}.Advance"/> so far.</summary>
    int WrittenCount { get; }

    /// <summary>The committed bytes, writable in place. Valid until the next <c>GetSpan</c>/<c>GetMemory</c> call.</summary>
    Span<byte> WrittenSpan { get; }
}
