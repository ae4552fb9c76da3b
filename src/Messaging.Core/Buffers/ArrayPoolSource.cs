using System.Buffers;

namespace Messaging.Buffers;

/// <summary>
/// An <see cref="IGrowableArraySource"/> over an <see cref="ArrayPool{T}"/>: growing rents a larger array and copies.
/// The replaced array goes back to the pool when <see cref="ReturnsReplaced"/> (nothing points into it), or is left to
/// the GC otherwise (records decoded earlier may still read it, so it must not be handed out again).
/// </summary>
internal readonly struct ArrayPoolSource(ArrayPool<byte> pool, bool returnsReplaced) : IGrowableArraySource
{
    /// <summary>The pool arrays are rented from (and returned to).</summary>
    public ArrayPool<byte> Pool { get; } = pool;

    /// <summary>Whether an array replaced by a larger one goes back to <see cref="Pool"/>.</summary>
    public bool ReturnsReplaced { get; } = returnsReplaced;

    /// <inheritdoc/>
    public byte[] Grow(byte[] current, int used, int minimumLength)
    {
        byte[] next = Pool.Rent(minimumLength);
        current.AsSpan(0, used).CopyTo(next);
        if (ReturnsReplaced)
        {
            Pool.Return(current);
        }

        return next;
    }
}
