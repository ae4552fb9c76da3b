using System.Text;

namespace Messaging.Core.Tests.Protocol.Generated;

/// <summary>Random field values for the generated test-data builders, biased towards edge cases.</summary>
internal static class RandomValues
{
    private static readonly string[] Pieces = ["a", "topic", "é", "中", "ß", "-", "_", ".", "0", "𝄞", " ", "Z"];

    public static bool Bool(Random r) => r.Next(2) == 1;

    public static sbyte Int8(Random r) => (sbyte)Int64(r);

    public static short Int16(Random r) => (short)Int64(r);

    public static ushort UInt16(Random r) => (ushort)Int64(r);

    public static int Int32(Random r) => (int)Int64(r);

    public static uint UInt32(Random r) => (uint)Int64(r);

    public static long Int64(Random r) => r.Next(8) switch
    {
        0 => 0,
        1 => -1,
        2 => long.MinValue,
        3 => long.MaxValue,
        4 => r.Next(-200, 200),
        _ => r.NextInt64(long.MinValue, long.MaxValue),
    };

    public static double Float64(Random r) => r.Next(4) switch
    {
        0 => 0d,
        1 => double.NaN,
        2 => r.NextDouble() * 1e6,
        _ => BitConverter.Int64BitsToDouble(r.NextInt64(long.MinValue, long.MaxValue)),
    };

    public static Guid Uuid(Random r)
    {
        if (r.Next(4) == 0)
        {
            return Guid.Empty;
        }

        Span<byte> bytes = stackalloc byte[16];
        r.NextBytes(bytes);
        return new Guid(bytes);
    }

    public static string String(Random r)
    {
        int pieces = r.Next(5);
        if (pieces == 0)
        {
            return "";
        }

        var sb = new StringBuilder();
        for (int i = 0; i < pieces; i++)
        {
            sb.Append(Pieces[r.Next(Pieces.Length)]);
        }

        return sb.ToString();
    }

    public static ReadOnlyMemory<byte> Bytes(Random r)
    {
        int length = r.Next(4) == 0 ? 0 : r.Next(1, 40);
        var bytes = new byte[length];
        r.NextBytes(bytes);
        return bytes;
    }

    public static T[] ArrayOf<T>(Random r, short version, Func<Random, short, T> create)
    {
        int count = r.Next(4);
        var result = new T[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = create(r, version);
        }

        return result;
    }
}
