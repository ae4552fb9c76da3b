
namespace Messaging.Pools;

/// <summary>
/// Where the consumer gets the buffers compressed batches are decompressed into. A buffer is held until every record
/// decoded from it has been recycled, then given back with <see cref="Return"/>.
/// </summary>
/// <remarks>
/// <para>Sizes: the decompressed size of a batch is not known before decompressing it, so <see cref="Rent(int, CompressionType)"/> is given
/// the compressed size and the codec to guess from (and, as the consumer calls it, <see cref="Rent(int, CompressionType, int)"/>
/// also the most the batch may decompress to). When the guess is too small the consumer calls <see cref="Grow"/>:
/// the pool hands out a larger buffer holding the bytes written so far and takes the smaller one back (nothing points
/// into it yet). The buffer that finally goes back through <see cref="Return"/> is the grown one, never the original.</para>
/// <para>Every buffer handed out by <see cref="Rent(int, CompressionType)"/> comes back through <see cref="Return"/> exactly once (a grown
/// buffer replaces its original in that count). Implementations must be thread-safe: buffers are returned on whichever
/// thread recycles the last record. Built-ins: <see cref="DecompressionBufferPool"/> (the default) and
/// <see cref="NoPooling.DecompressionBuffers"/>.</para>
/// </remarks>
public interface IDecompressionBufferPool
{
    /// <summary>A buffer to decompress one batch into.</summary>
    /// <param name="compressedSize">The compressed size of the batch's records.</param>
    /// <param name="codec">The codec they were compressed with.</param>
    /// <returns>A buffer of any non-zero length; the consumer grows it if the data does not fit.</returns>
    byte[] Rent(int compressedSize, CompressionType codec);

    /// <summary>
    /// A buffer to decompress one batch into, for a consumer whose batches may not decompress to more than
    /// <paramref name="maxLength"/> bytes (<see cref="KafkaConsumerOptions.MaxDecompressedBatchBytes"/>): a guess
    /// beyond it would only hold memory the batch can never use. The consumer calls this one. The default calls
    /// <see cref="Rent(int, CompressionType)"/>, ignoring the limit; the built-in pools guess no further than it.
    /// </summary>
    /// <param name="compressedSize">The compressed size of the batch's records.</param>
    /// <param name="codec">The codec they were compressed with.</param>
    /// <param name="maxLength">The most the batch may decompress to (the consumer grows the buffer if the codec asks a little more).</param>
    /// <returns>A buffer of any non-zero length; the consumer grows it if the data does not fit.</returns>
    byte[] Rent(int compressedSize, CompressionType codec, int maxLength) => Rent(compressedSize, codec);

    /// <summary>Exchanges <paramref name="buffer"/> for a larger one that starts with its first <paramref name="usedLength"/> bytes.</summary>
    /// <param name="buffer">A buffer from <see cref="Rent(int, CompressionType)"/> or an earlier <see cref="Grow"/>; it belongs to the pool again once this returns.</param>
    /// <param name="usedLength">How many bytes at its start are in use and must be carried over.</param>
    /// <param name="minimumLength">The least length the new buffer must have.</param>
    /// <returns>The larger buffer.</returns>
    byte[] Grow(byte[] buffer, int usedLength, int minimumLength);

    /// <summary>Takes back a buffer once nothing points into it.</summary>
    /// <param name="buffer">The buffer (the grown one, if it grew).</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "Rent/Return, as ArrayPool<T> names them.")]
    void Return(byte[] buffer);
}
