using System.Buffers;

namespace Messaging.Compression;

/// <summary>
/// Where compressed record batches are decompressed to: an <see cref="IBufferWriter{T}"/> whose written bytes can be
/// read back as one contiguous block, so decoded records can be handed out as <see cref="ReadOnlyMemory{T}"/> slices.
/// </summary>
/// <remarks>
/// <para>A decoder appends each batch after the bytes already written and slices the records out of
/// <see cref="WrittenMemory"/>, so one buffer can hold several batches whose records are all still in use.</para>
/// <para>Contract for implementers: memory handed out by <see cref="WrittenMemory"/> must stay valid and unchanged until
/// the owner explicitly resets or releases the buffer. When the buffer grows it must copy into a new block and leave the
/// old one alone (not return it to a pool that could hand it out again), because records decoded earlier may still point
/// into it. <see cref="DecompressionBuffer"/> is an implementation over pooled arrays.</para>
/// </remarks>
internal interface IDecompressionBuffer : IBufferWriter<byte>
{
    /// <summary>Every byte written since the buffer was last reset, as one contiguous block.</summary>
    ReadOnlyMemory<byte> WrittenMemory { get; }
}
