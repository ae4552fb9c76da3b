using System.Runtime.CompilerServices;
using Messaging.Protocol;

namespace Messaging.Records;

/// <summary>
/// Zig-zag varint reads for the record decode loop: one- and two-byte values (every length below 8 KiB) inline,
/// longer ones through <see cref="Varint"/>. Each read is bounded by an end position, not just the span.
/// </summary>
internal static class RecordVarint
{
    /// <summary>Reads a zig-zag varint that must end before <paramref name="end"/>; false when truncated or invalid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ReadOnlySpan<byte> span, ref int position, int end, out int value)
    {
        int p = position;
        if ((uint)p < (uint)end && (uint)end <= (uint)span.Length)
        {
            uint b0 = span[p];
            if (b0 < 0x80)
            {
                position = p + 1;
                value = (int)(b0 >> 1) ^ -(int)(b0 & 1);
                return true;
            }

            if (p + 1 < end)
            {
                uint b1 = span[p + 1];
                if (b1 < 0x80)
                {
                    uint raw = (b0 & 0x7F) | (b1 << 7);
                    position = p + 2;
                    value = (int)(raw >> 1) ^ -(int)(raw & 1);
                    return true;
                }
            }
        }

        return TryReadSlow(span, ref position, end, out value);
    }

    /// <summary>Reads a zig-zag varlong that must end before <paramref name="end"/>; false when truncated or invalid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadLong(ReadOnlySpan<byte> span, ref int position, int end, out long value)
    {
        int p = position;
        if ((uint)p < (uint)end && (uint)end <= (uint)span.Length)
        {
            uint b0 = span[p];
            if (b0 < 0x80)
            {
                position = p + 1;
                value = (long)(b0 >> 1) ^ -(long)(b0 & 1);
                return true;
            }
        }

        return TryReadLongSlow(span, ref position, end, out value);
    }

    /// <summary>Reads a varint from bytes already validated by the decoder.</summary>
    public static int ReadTrusted(ReadOnlySpan<byte> span, ref int position)
    {
        Varint.TryReadVarint(span.Slice(position), out int value, out int read);
        position += read;
        return value;
    }

    private static bool TryReadSlow(ReadOnlySpan<byte> span, ref int position, int end, out int value)
    {
        if ((uint)position >= (uint)end || (uint)end > (uint)span.Length)
        {
            value = 0;
            return false;
        }

        if (!Varint.TryReadVarint(span.Slice(position, end - position), out value, out int read))
        {
            return false;
        }

        position += read;
        return true;
    }

    private static bool TryReadLongSlow(ReadOnlySpan<byte> span, ref int position, int end, out long value)
    {
        if ((uint)position >= (uint)end || (uint)end > (uint)span.Length)
        {
            value = 0;
            return false;
        }

        if (!Varint.TryReadVarlong(span.Slice(position, end - position), out value, out int read))
        {
            return false;
        }

        position += read;
        return true;
    }
}
