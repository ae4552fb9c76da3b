namespace Messaging.Buffers;

/// <summary>
/// Where a <see cref="GrowableBuffer{TSource}"/> gets a larger array when a write does not fit, and what becomes of the
/// smaller one. Implemented by structs, so the buffer is specialised for each source and the call is direct (and only
/// made when the buffer grows, never per write).
/// </summary>
internal interface IGrowableArraySource
{
    /// <summary>
    /// Exchanges <paramref name="current"/> for an array of at least <paramref name="minimumLength"/> elements that
    /// starts with its first <paramref name="used"/> bytes. The source decides what happens to
    /// <paramref name="current"/> (back to a pool, or left to the GC while something may still point into it).
    /// </summary>
    byte[] Grow(byte[] current, int used, int minimumLength);
}
