using System.Buffers.Binary;
using System.Diagnostics;

namespace Messaging.Perf;

/// <summary>
/// The send time an <c>e2e</c> record carries in its first 8 value bytes (a <see cref="Stopwatch"/> timestamp,
/// little-endian; producer and consumer run in this process, so they share the clock). 0 marks a priming record,
/// which proves the consumer is positioned and is not timed.
/// </summary>
internal static class E2eStamp
{
    public const int Size = sizeof(long);

    /// <summary>Copies <paramref name="value"/> into <paramref name="scratch"/> with the current time in its first bytes.</summary>
    public static void Stamp(byte[] value, byte[] scratch)
    {
        value.CopyTo(scratch, 0);
        BinaryPrimitives.WriteInt64LittleEndian(scratch, Stopwatch.GetTimestamp());
    }

    /// <summary>The send time of a consumed value, or 0 for a priming record (or a value too short to carry one).</summary>
    public static long Read(ReadOnlySpan<byte> value) => value.Length < Size ? 0 : BinaryPrimitives.ReadInt64LittleEndian(value);
}
