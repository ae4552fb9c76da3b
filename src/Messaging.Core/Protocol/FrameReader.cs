using System.Buffers;
using System.Buffers.Binary;

namespace Messaging.Protocol;

/// <summary>
/// Finds size-prefixed frames in received bytes. Every Kafka request and response is sent as a big-endian int32 size
/// followed by that many bytes; this helper says whether a buffer holds a complete frame yet.
/// </summary>
/// <remarks>
/// A size prefix below zero or above <see cref="ProtocolLimits.MaxFrameBytes"/> throws
/// <see cref="KafkaProtocolException"/> as soon as the four prefix bytes are seen, before anything is allocated or
/// more bytes are awaited, so a corrupt or hostile prefix cannot make the caller buffer gigabytes.
/// </remarks>
internal static class FrameReader
{
    /// <summary>The size of the length prefix.</summary>
    public const int PrefixSize = 4;

    /// <summary>Looks for a complete frame at the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">Received bytes, starting at a frame boundary.</param>
    /// <param name="limits">The limits to apply (<see cref="ProtocolLimits.MaxFrameBytes"/>).</param>
    /// <param name="payloadLength">The frame's size (excluding the 4-byte prefix) once known, else -1. When the method returns
    /// false but the prefix has been read, this tells the caller how big the frame will be.</param>
    /// <returns>True if <c>4 + payloadLength</c> bytes are available; false if more bytes are needed.</returns>
    /// <exception cref="KafkaProtocolException">The size prefix is negative or above the limit.</exception>
    public static bool TryGetFrame(ReadOnlySpan<byte> buffer, ProtocolLimits limits, out int payloadLength)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (buffer.Length < PrefixSize)
        {
            payloadLength = -1;
            return false;
        }

        payloadLength = BinaryPrimitives.ReadInt32BigEndian(buffer);
        Validate(payloadLength, limits);
        return buffer.Length - PrefixSize >= payloadLength;
    }

    /// <summary>
    /// Looks for a complete frame at the start of <paramref name="buffer"/> (for <c>System.IO.Pipelines</c> readers). On
    /// success <paramref name="payload"/> is the frame without its prefix and <paramref name="buffer"/> is advanced past it.
    /// </summary>
    /// <param name="buffer">Received bytes, starting at a frame boundary; advanced past the frame on success.</param>
    /// <param name="limits">The limits to apply (<see cref="ProtocolLimits.MaxFrameBytes"/>).</param>
    /// <param name="payload">The frame's bytes, excluding the prefix.</param>
    /// <returns>True if a complete frame was found; false if more bytes are needed.</returns>
    /// <exception cref="KafkaProtocolException">The size prefix is negative or above the limit.</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, ProtocolLimits limits, out ReadOnlySequence<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(limits);
        payload = default;
        if (buffer.Length < PrefixSize)
        {
            return false;
        }

        int length;
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= PrefixSize)
        {
            length = BinaryPrimitives.ReadInt32BigEndian(first);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[PrefixSize];
            buffer.Slice(0, PrefixSize).CopyTo(prefix);
            length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        }

        Validate(length, limits);
        if (buffer.Length - PrefixSize < length)
        {
            return false;
        }

        payload = buffer.Slice(PrefixSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    private static void Validate(int length, ProtocolLimits limits)
    {
        if (length < 0)
        {
            ThrowHelper.ThrowMalformed("Frame", "Size", 0, "size prefix " + length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " is negative");
        }

        if (length > limits.MaxFrameBytes)
        {
            ThrowHelper.ThrowLengthExceedsLimit("Frame", "Size", 0, length, limits.MaxFrameBytes, nameof(ProtocolLimits.MaxFrameBytes));
        }
    }
}
