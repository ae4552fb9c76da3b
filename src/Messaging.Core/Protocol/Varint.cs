using System.Numerics;
using System.Runtime.CompilerServices;

namespace Messaging.Protocol;

/// <summary>
/// Variable-length integers as the Kafka protocol encodes them: unsigned LEB128 (7 bits per byte, least significant
/// group first, high bit set on every byte but the last), and the signed forms after zig-zag encoding
/// (0 → 0, -1 → 1, 1 → 2, -2 → 3, ...).
/// </summary>
/// <remarks>
/// A 32-bit value takes at most 5 bytes and a 64-bit value at most 10. The readers reject longer encodings and
/// encodings whose last byte carries bits beyond the type's width, so they never loop more than 5 (or 10) times.
/// </remarks>
internal static class Varint
{
    /// <summary>The largest number of bytes a 32-bit varint takes.</summary>
    public const int MaxVarintBytes = 5;

    /// <summary>The largest number of bytes a 64-bit varint (varlong) takes.</summary>
    public const int MaxVarlongBytes = 10;

    /// <summary>Zig-zag encodes a signed 32-bit value.</summary>
    /// <param name="value">The signed value.</param>
    /// <returns>The zig-zag encoding.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ZigZagEncode(int value) => (uint)((value << 1) ^ (value >> 31));

    /// <summary>Zig-zag encodes a signed 64-bit value.</summary>
    /// <param name="value">The signed value.</param>
    /// <returns>The zig-zag encoding.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ZigZagEncode(long value) => (ulong)((value << 1) ^ (value >> 63));

    /// <summary>Decodes a zig-zag encoded 32-bit value.</summary>
    /// <param name="value">The zig-zag encoding.</param>
    /// <returns>The signed value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ZigZagDecode(uint value) => (int)(value >> 1) ^ -(int)(value & 1);

    /// <summary>Decodes a zig-zag encoded 64-bit value.</summary>
    /// <param name="value">The zig-zag encoding.</param>
    /// <returns>The signed value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ZigZagDecode(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    /// <summary>The number of bytes <paramref name="value"/> takes as an unsigned varint (1 to 5).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The encoded size in bytes.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeOfUnsignedVarint(uint value) => ((32 - BitOperations.LeadingZeroCount(value | 1)) + 6) / 7;

    /// <summary>The number of bytes <paramref name="value"/> takes as an unsigned 64-bit varint (1 to 10).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The encoded size in bytes.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeOfUnsignedVarlong(ulong value) => ((64 - BitOperations.LeadingZeroCount(value | 1)) + 6) / 7;

    /// <summary>The number of bytes <paramref name="value"/> takes as a zig-zag varint (1 to 5).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The encoded size in bytes.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeOfVarint(int value) => SizeOfUnsignedVarint(ZigZagEncode(value));

    /// <summary>The number of bytes <paramref name="value"/> takes as a zig-zag varlong (1 to 10).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The encoded size in bytes.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeOfVarlong(long value) => SizeOfUnsignedVarlong(ZigZagEncode(value));

    /// <summary>Writes <paramref name="value"/> as an unsigned varint.</summary>
    /// <param name="destination">Where to write; must have room for <see cref="SizeOfUnsignedVarint(uint)"/> bytes.</param>
    /// <param name="value">The value.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteUnsignedVarint(Span<byte> destination, uint value)
    {
        if (value < 0x80 && destination.Length > 0)
        {
            destination[0] = (byte)value;
            return 1;
        }

        return WriteUnsignedVarintSlow(destination, value);
    }

    private static int WriteUnsignedVarintSlow(Span<byte> destination, uint value)
    {
        int size = SizeOfUnsignedVarint(value);
        if (destination.Length < size)
        {
            ThrowHelper.ThrowDestinationTooSmall(size, destination.Length);
        }

        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Writes <paramref name="value"/> as an unsigned 64-bit varint.</summary>
    /// <param name="destination">Where to write; must have room for <see cref="SizeOfUnsignedVarlong(ulong)"/> bytes.</param>
    /// <param name="value">The value.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public static int WriteUnsignedVarlong(Span<byte> destination, ulong value)
    {
        int size = SizeOfUnsignedVarlong(value);
        if (destination.Length < size)
        {
            ThrowHelper.ThrowDestinationTooSmall(size, destination.Length);
        }

        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Writes <paramref name="value"/> as a zig-zag varint.</summary>
    /// <param name="destination">Where to write; must have room for <see cref="SizeOfVarint(int)"/> bytes.</param>
    /// <param name="value">The value.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarint(Span<byte> destination, int value) => WriteUnsignedVarint(destination, ZigZagEncode(value));

    /// <summary>Writes <paramref name="value"/> as a zig-zag varlong.</summary>
    /// <param name="destination">Where to write; must have room for <see cref="SizeOfVarlong(long)"/> bytes.</param>
    /// <param name="value">The value.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarlong(Span<byte> destination, long value)
    {
        ulong zigzag = ZigZagEncode(value);
        if (zigzag < 0x80 && destination.Length > 0)
        {
            destination[0] = (byte)zigzag;
            return 1;
        }

        return WriteUnsignedVarlong(destination, zigzag);
    }

    /// <summary>Reads an unsigned varint.</summary>
    /// <param name="source">The bytes to read from, starting at the varint.</param>
    /// <param name="value">The value, or 0 on failure.</param>
    /// <param name="bytesRead">The number of bytes the varint took, or 0 on failure.</param>
    /// <returns>False if <paramref name="source"/> ends before the varint does, the varint is longer than 5 bytes,
    /// or its fifth byte carries bits beyond 32.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadUnsignedVarint(ReadOnlySpan<byte> source, out uint value, out int bytesRead)
    {
        if (source.Length > 0 && source[0] < 0x80)
        {
            value = source[0];
            bytesRead = 1;
            return true;
        }

        return TryReadUnsignedVarintSlow(source, out value, out bytesRead);
    }

    private static bool TryReadUnsignedVarintSlow(ReadOnlySpan<byte> source, out uint value, out int bytesRead)
    {
        uint result = 0;
        int limit = Math.Min(source.Length, MaxVarintBytes);
        for (int i = 0; i < limit; i++)
        {
            uint b = source[i];
            if (i == MaxVarintBytes - 1 && b > 0x0F)
            {
                // The fifth byte holds bits 28-31 only; anything more is an overflow or an overlong encoding.
                break;
            }

            result |= (b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                value = result;
                bytesRead = i + 1;
                return true;
            }
        }

        value = 0;
        bytesRead = 0;
        return false;
    }

    /// <summary>Reads an unsigned 64-bit varint.</summary>
    /// <param name="source">The bytes to read from, starting at the varint.</param>
    /// <param name="value">The value, or 0 on failure.</param>
    /// <param name="bytesRead">The number of bytes the varint took, or 0 on failure.</param>
    /// <returns>False if <paramref name="source"/> ends before the varint does, the varint is longer than 10 bytes,
    /// or its tenth byte carries bits beyond 64.</returns>
    public static bool TryReadUnsignedVarlong(ReadOnlySpan<byte> source, out ulong value, out int bytesRead)
    {
        ulong result = 0;
        int limit = Math.Min(source.Length, MaxVarlongBytes);
        for (int i = 0; i < limit; i++)
        {
            ulong b = source[i];
            if (i == MaxVarlongBytes - 1 && b > 0x01)
            {
                // The tenth byte holds bit 63 only.
                break;
            }

            result |= (b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                value = result;
                bytesRead = i + 1;
                return true;
            }
        }

        value = 0;
        bytesRead = 0;
        return false;
    }

    /// <summary>Reads a zig-zag varint.</summary>
    /// <param name="source">The bytes to read from, starting at the varint.</param>
    /// <param name="value">The value, or 0 on failure.</param>
    /// <param name="bytesRead">The number of bytes the varint took, or 0 on failure.</param>
    /// <returns>False on truncation or an invalid (overlong or overflowing) encoding.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadVarint(ReadOnlySpan<byte> source, out int value, out int bytesRead)
    {
        bool ok = TryReadUnsignedVarint(source, out uint raw, out bytesRead);
        value = ZigZagDecode(raw);
        return ok;
    }

    /// <summary>Reads a zig-zag varlong.</summary>
    /// <param name="source">The bytes to read from, starting at the varlong.</param>
    /// <param name="value">The value, or 0 on failure.</param>
    /// <param name="bytesRead">The number of bytes the varlong took, or 0 on failure.</param>
    /// <returns>False on truncation or an invalid (overlong or overflowing) encoding.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadVarlong(ReadOnlySpan<byte> source, out long value, out int bytesRead)
    {
        if (source.Length > 0 && source[0] < 0x80)
        {
            value = ZigZagDecode((ulong)source[0]);
            bytesRead = 1;
            return true;
        }

        bool ok = TryReadUnsignedVarlong(source, out ulong raw, out bytesRead);
        value = ZigZagDecode(raw);
        return ok;
    }
}
