using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Messaging.Buffers;

/// <summary>
/// The one grow-and-slice core under every growable byte writer over a single array (the protocol's contiguous writer,
/// the decompression buffers): hands out the free tail of its array, advances over what was written, grows through
/// <typeparamref name="TSource"/> (doubling, capped) when a write does not fit, and exposes the written bytes as one
/// slice. Where arrays come from and go to is the source's and the owning writer's business.
/// </summary>
/// <remarks>
/// <para>A mutable struct: keep it in a field of the owning writer and call it there (never copy it), so writes cost
/// a bounds check and no call through an interface. The source is a struct type parameter for the same reason.</para>
/// <para>Ownership: the buffer holds one array (or none: <see cref="Array.Empty{T}"/>, after <see cref="Detach"/> or
/// before the first <see cref="Attach"/>). It never returns an array anywhere itself; growing hands the replaced one to
/// the source, <see cref="Detach"/> hands the current one to the caller.</para>
/// </remarks>
/// <typeparam name="TSource">Where larger arrays come from.</typeparam>
[StructLayout(LayoutKind.Auto)]
internal struct GrowableBuffer<TSource>
    where TSource : struct, IGrowableArraySource
{
    private readonly TSource _source;
    private readonly long _doublingCap;
    private byte[] _buffer;
    private int _written;

    /// <summary>A buffer holding <paramref name="initial"/> (an empty array: none yet).</summary>
    /// <param name="source">Where larger arrays come from.</param>
    /// <param name="initial">The first array, owned by the buffer from now on.</param>
    /// <param name="doublingCap">Growth doubles the array, but never beyond this (nor below what the write needs).</param>
    public GrowableBuffer(TSource source, byte[] initial, long doublingCap = long.MaxValue)
    {
        _source = source;
        _doublingCap = doublingCap;
        _buffer = initial;
    }

    /// <summary>The source larger arrays come from.</summary>
    public readonly TSource Source => _source;

    /// <summary>Whether the buffer holds an array.</summary>
    public readonly bool HoldsArray => _buffer.Length != 0;

    /// <summary>The number of bytes written since the array was attached or last cleared.</summary>
    public readonly int WrittenCount => _written;

    /// <summary>The length of the array held (0 when none).</summary>
    public readonly int Capacity => _buffer.Length;

    /// <summary>The written bytes, writable in place. Valid until the buffer grows, is detached or cleared.</summary>
    public readonly Span<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>The written bytes as one slice of the array. Valid until the buffer grows, is detached or cleared.</summary>
    public readonly Memory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>Forgets the written bytes, keeping the array.</summary>
    public void Clear() => _written = 0;

    /// <summary>Makes <paramref name="array"/> the buffer's array, with nothing written yet.</summary>
    /// <exception cref="InvalidOperationException">The buffer still holds an array (it would be lost).</exception>
    public void Attach(byte[] array)
    {
        if (HoldsArray)
        {
            throw new InvalidOperationException("The buffer's previous array was neither detached nor returned.");
        }

        _buffer = array;
        _written = 0;
    }

    /// <summary>Hands the array over to the caller; the buffer holds none afterwards.</summary>
    /// <param name="written">How many bytes at its start were written.</param>
    /// <returns>The array (empty when the buffer held none).</returns>
    public byte[] Detach(out int written)
    {
        byte[] buffer = _buffer;
        written = _written;
        _buffer = [];
        _written = 0;
        return buffer;
    }

    /// <summary>Commits <paramref name="count"/> bytes of the span or memory handed out last.</summary>
    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written))
        {
            ThrowAdvancedTooFar(count);
        }

        _written += count;
    }

    /// <summary>The free tail of the array, at least <paramref name="sizeHint"/> bytes long (at least one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> GetSpan(int sizeHint)
    {
        EnsureRoom(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>The free tail of the array, at least <paramref name="sizeHint"/> bytes long (at least one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> GetMemory(int sizeHint)
    {
        EnsureRoom(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <summary>
    /// The size the array must grow to so that <paramref name="sizeHint"/> more bytes (at least one) fit after
    /// <paramref name="written"/>: doubling, capped at <paramref name="doublingCap"/> (but never below what is needed)
    /// and at <see cref="Array.MaxLength"/>.
    /// </summary>
    internal static int NextSize(int capacity, int written, int sizeHint, long doublingCap)
    {
        var minimum = (long)written + Math.Max(sizeHint, 1);
        var doubled = Math.Min((long)capacity * 2, Math.Max(doublingCap, minimum));
        var size = Math.Min(Math.Max(minimum, doubled), Array.MaxLength);
        if (size < minimum)
        {
            throw new InvalidOperationException("A buffer cannot grow beyond Array.MaxLength bytes.");
        }

        return (int)size;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureRoom(int sizeHint)
    {
        // Room for max(sizeHint, 1) bytes; a negative hint takes the slow path, which rejects it.
        int free = _buffer.Length - _written;
        if ((uint)sizeHint > (uint)free || free == 0)
        {
            Grow(sizeHint);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int sizeHint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        if (!HoldsArray)
        {
            throw new InvalidOperationException("The buffer holds no array: it was disposed or handed over, or never given one.");
        }

        int size = NextSize(_buffer.Length, _written, sizeHint, _doublingCap);
        byte[] larger = _source.Grow(_buffer, _written, size);
        if (larger is null || larger.Length - _written < Math.Max(sizeHint, 1))
        {
            throw new InvalidOperationException("The array source grew a buffer less than asked for.");
        }

        _buffer = larger;
    }

    private static void ThrowAdvancedTooFar(int count) =>
        throw new ArgumentOutOfRangeException(nameof(count), count, "Cannot advance past the end of the span that was handed out.");
}
