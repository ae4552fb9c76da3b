using System.Buffers.Binary;

namespace Messaging.Protocol;

/// <summary>
/// Table-driven (slicing-by-8) reflected CRC-32 for any polynomial: the software path of <see cref="Crc32C"/>
/// (Castagnoli) and the legacy message sets' CRC-32 (IEEE). Eight 256-entry tables; eight bytes per step.
/// </summary>
internal static class SlicingBy8
{
    /// <summary>Builds the 8×256 tables for a reflected polynomial (e.g. 0x82F63B78 for CRC-32C, 0xEDB88320 for CRC-32).</summary>
    public static uint[] BuildTable(uint reflectedPolynomial)
    {
        var t = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ reflectedPolynomial : c >> 1;
            }

            t[n] = c;
        }

        for (int k = 1; k < 8; k++)
        {
            for (int n = 0; n < 256; n++)
            {
                uint prev = t[((k - 1) * 256) + n];
                t[(k * 256) + n] = t[prev & 0xFF] ^ (prev >> 8);
            }
        }

        return t;
    }

    /// <summary>Advances a raw (not inverted) CRC register over <paramref name="data"/>.</summary>
    public static uint Update(uint[] table, uint crc, ReadOnlySpan<byte> data)
    {
        uint[] t = table;
        int i = 0;
        while (data.Length - i >= 8)
        {
            uint lo = crc ^ BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i));
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i + 4));
            crc = t[(7 * 256) + (lo & 0xFF)] ^ t[(6 * 256) + ((lo >> 8) & 0xFF)] ^
                  t[(5 * 256) + ((lo >> 16) & 0xFF)] ^ t[(4 * 256) + (lo >> 24)] ^
                  t[(3 * 256) + (hi & 0xFF)] ^ t[(2 * 256) + ((hi >> 8) & 0xFF)] ^
                  t[(1 * 256) + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
            i += 8;
        }

        for (; i < data.Length; i++)
        {
            crc = t[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }
}
