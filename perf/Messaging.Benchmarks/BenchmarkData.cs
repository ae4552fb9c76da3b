using Messaging.Records;

namespace Messaging.Benchmarks;

/// <summary>The standard benchmark batch: 1,000 records, 16-byte keys, 100-byte values, no headers.</summary>
internal static class BenchmarkData
{
    public const int RecordCount = 1000;
    public const int KeySize = 16;
    public const int ValueSize = 100;
    public const long BaseTimestamp = 1_700_000_000_000;

    /// <summary>Keys and values with some structure (so compression is realistic) but not constant.</summary>
    public static (byte[][] Keys, byte[][] Values) Payloads()
    {
        var random = new Random(42);
        var keys = new byte[RecordCount][];
        var values = new byte[RecordCount][];
        for (int i = 0; i < RecordCount; i++)
        {
            keys[i] = new byte[KeySize];
            random.NextBytes(keys[i]);
            values[i] = new byte[ValueSize];
            // Half random, half repetitive text: compresses about 2:1, like typical JSON-ish payloads.
            random.NextBytes(values[i].AsSpan(0, ValueSize / 2));
            "{\"field\":\"value\",\"n\":12345678,\"tags\":[\"a\",\"b\"]}{\"field\":\"value\"}"u8.Slice(0, ValueSize / 2).CopyTo(values[i].AsSpan(ValueSize / 2));
        }

        return (keys, values);
    }

    public static byte[] Batch(CompressionType compression)
    {
        (byte[][] keys, byte[][] values) = Payloads();
        using var builder = new RecordBatchBuilder();
        builder.Compression = compression;
        for (int i = 0; i < RecordCount; i++)
        {
            builder.Append(BaseTimestamp + i, keys[i], values[i]);
        }

        return builder.Build().ToArray();
    }
}
