using System.Buffers.Binary;

namespace Messaging.Partitioners;

/// <summary>
/// The 32-bit murmur2 hash exactly as the Java client computes it (<c>org.apache.kafka.common.utils.Utils.murmur2</c>,
/// seed <c>0x9747b28c</c>), so a key lands on the same partition as with the Java client and with librdkafka's
/// <c>murmur2</c>/<c>murmur2_random</c> partitioners.
/// </summary>
public static class Murmur2
{
    private const uint Seed = 0x9747b28c;
    private const uint M = 0x5bd1e995;

    /// <summary>Hashes <paramref name="data"/>.</summary>
    /// <param name="data">The bytes (the serialized key).</param>
    /// <returns>The signed 32-bit hash, as Java returns it.</returns>
    public static int Hash(ReadOnlySpan<byte> data)
    {
        var length = data.Length;
        var h = Seed ^ (uint)length;
        var blocks = length & ~3;
        for (var i = 0; i < blocks; i += 4)
        {
            // Java assembles each block little-endian from unsigned bytes; the arithmetic is modulo 2^32 either way.
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i, 4));
            k *= M;
            k ^= k >> 24;
            k *= M;
            h *= M;
            h ^= k;
        }

        switch (length & 3)
        {
            case 3:
                h ^= (uint)data[blocks + 2] << 16;
                h ^= (uint)data[blocks + 1] << 8;
                h ^= data[blocks];
                h *= M;
                break;
            case 2:
                h ^= (uint)data[blocks + 1] << 8;
                h ^= data[blocks];
                h *= M;
                break;
            case 1:
                h ^= data[blocks];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return (int)h;
    }

    /// <summary>The partition for a key: <c>toPositive(murmur2(key)) % partitionCount</c>, as the Java client's default partitioner.</summary>
    /// <param name="key">The serialized key.</param>
    /// <param name="partitionCount">How many partitions the topic has (at least 1).</param>
    /// <returns>A partition in <c>[0, partitionCount)</c>.</returns>
    public static int Partition(ReadOnlySpan<byte> key, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        return (Hash(key) & 0x7fffffff) % partitionCount;
    }
}
