using Messaging.Protocol;

namespace Messaging.Records;

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of legacy magic-0/1 messages. Slicing-by-8.</summary>
internal static class LegacyCrc32
{
    private const uint Polynomial = 0xEDB88320u;
    private static readonly uint[] Table = SlicingBy8.BuildTable(Polynomial);

    /// <summary>The CRC-32 (IEEE) of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~SlicingBy8.Update(Table, 0xFFFFFFFFu, data);
}
