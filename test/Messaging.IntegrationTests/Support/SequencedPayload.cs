using System.Buffers.Binary;

namespace Messaging.IntegrationTests.Support;

/// <summary>Values that carry their sequence number and a deterministic body, so a reader can check every byte.</summary>
internal static class SequencedPayload
{
    public static byte[] Create(int sequence, int size)
    {
        var value = new byte[Math.Max(size, 8)];
        BinaryPrimitives.WriteInt32BigEndian(value, sequence);
        BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(4), ~sequence);
        var state = (uint)sequence * 2654435761u + 1;
        for (var i = 8; i < value.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            value[i] = (byte)state;
        }

        return value;
    }

    /// <summary>The sequence number a value carries; throws if the value is not one <see cref="Create"/> made.</summary>
    public static int Read(byte[] value)
    {
        var sequence = BinaryPrimitives.ReadInt32BigEndian(value);
        if (!value.AsSpan().SequenceEqual(Create(sequence, value.Length)))
        {
            throw new InvalidDataException($"The value claiming sequence {sequence} does not hold the bytes that sequence was written with.");
        }

        return sequence;
    }
}
