namespace Messaging.Buffers;

/// <summary>
/// The arithmetic every growable <see cref="System.Buffers.IBufferWriter{T}"/> over one array shares (the protocol's
/// contiguous writer, the decompression buffers): checked advancing, and the next size when a write does not fit.
/// How the larger array is obtained, and what happens to the old one, stays with each writer.
/// </summary>
internal static class GrowableBuffer
{
    /// <summary>Moves <paramref name="written"/> forward by <paramref name="count"/>, which must fit the span handed out.</summary>
    public static void Advance(int capacity, ref int written, int count)
    {
        if ((uint)count > (uint)(capacity - written))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "Cannot advance past the end of the span that was handed out.");
        }

        written += count;
    }

    /// <summary>
    /// The size the array must grow to so that <paramref name="sizeHint"/> more bytes (at least one) fit after
    /// <paramref name="written"/>, or 0 when it already fits: doubling, capped at <paramref name="doublingCap"/> (but
    /// never below what is needed) and at <see cref="Array.MaxLength"/>.
    /// </summary>
    public static int NextSize(int capacity, int written, int sizeHint, long doublingCap = long.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        var needed = Math.Max(sizeHint, 1);
        if (capacity - written >= needed)
        {
            return 0;
        }

        var minimum = (long)written + needed;
        var doubled = Math.Min((long)capacity * 2, Math.Max(doublingCap, minimum));
        var size = Math.Min(Math.Max(minimum, doubled), Array.MaxLength);
        if (size < minimum)
        {
            throw new InvalidOperationException("A buffer cannot grow beyond Array.MaxLength bytes.");
        }

        return (int)size;
    }
}
