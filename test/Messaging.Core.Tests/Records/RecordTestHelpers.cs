using System.Buffers.Binary;
using Messaging.Compression;
using Messaging.Protocol;
using Messaging.Records;

namespace Messaging.Core.Tests.Records;

/// <summary>A record as the tests describe it: null key/value allowed.</summary>
internal sealed record TestRecord(long Timestamp, byte[]? Key, byte[]? Value, (string Key, byte[]? Value)[] Headers);

/// <summary>A decoded record copied out of the batch for comparisons.</summary>
internal sealed record DecodedRecord(long Offset, long Timestamp, byte[]? Key, byte[]? Value, (byte[] Key, byte[]? Value)[] Headers);

internal static class RecordTestHelpers
{
    public static byte[] Build(IEnumerable<TestRecord> records, CompressionType compression = CompressionType.None, Action<RecordBatchBuilder>? configure = null)
    {
        using var builder = new RecordBatchBuilder(64);
        builder.Compression = compression;
        configure?.Invoke(builder);
        foreach (TestRecord r in records)
        {
            RecordHeader[] headers = r.Headers.Select(h => h.Value is null ? RecordHeader.WithNullValue(h.Key) : new RecordHeader(h.Key, h.Value)).ToArray();
            RecordNulls nulls = (r.Key is null ? RecordNulls.Key : RecordNulls.None) | (r.Value is null ? RecordNulls.Value : RecordNulls.None);
            builder.Append(r.Timestamp, r.Key, r.Value, headers, nulls);
        }

        return builder.Build().ToArray();
    }

    public static DecodedRecord Copy(in RecordView r)
    {
        var headers = new List<(byte[], byte[]?)>();
        foreach (RecordHeader h in r.Headers)
        {
            headers.Add((h.KeyUtf8.ToArray(), h.IsValueNull ? null : h.Value.ToArray()));
        }

        return new DecodedRecord(r.Offset, r.Timestamp, r.IsKeyNull ? null : r.Key.ToArray(), r.IsValueNull ? null : r.Value.ToArray(), headers.ToArray());
    }

    /// <summary>Reads every batch and record, returning batches and copied records.</summary>
    public static (List<RecordBatch> Batches, List<DecodedRecord> Records, RecordBatchReader Reader) ReadAll(ReadOnlyMemory<byte> data, RecordDecoderOptions? options = null)
    {
        var reader = new RecordBatchReader(data, options);
        var batches = new List<RecordBatch>();
        var records = new List<DecodedRecord>();
        var buffer = new DecompressionBuffer(256);
        while (reader.TryReadNext(out RecordBatch batch))
        {
            batches.Add(batch);
            RecordReader rr = batch.GetRecords(buffer);
            while (rr.TryRead(out RecordView view))
            {
                records.Add(Copy(view));
            }
        }

        return (batches, records, reader);
    }

    /// <summary>Recomputes the CRC-32C of a magic-2 batch at <paramref name="start"/> after a test mutated it.</summary>
    public static void FixCrc(byte[] data, int start = 0)
    {
        int length = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(start + 8));
        int end = Math.Min(data.Length, start + 12 + Math.Max(length, 0));
        if (end > start + 21)
        {
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(start + 17), Crc32C.Compute(data.AsSpan(start + 21, end - start - 21)));
        }
    }

    public static void AssertSame(IReadOnlyList<TestRecord> expected, IReadOnlyList<DecodedRecord> actual, long baseOffset = 0)
    {
        Xunit.Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            TestRecord e = expected[i];
            DecodedRecord a = actual[i];
            Xunit.Assert.Equal(baseOffset + i, a.Offset);
            Xunit.Assert.Equal(e.Timestamp, a.Timestamp);
            Xunit.Assert.Equal(e.Key, a.Key);
            Xunit.Assert.Equal(e.Value, a.Value);
            Xunit.Assert.Equal(e.Headers.Length, a.Headers.Length);
            for (int h = 0; h < e.Headers.Length; h++)
            {
                Xunit.Assert.Equal(System.Text.Encoding.UTF8.GetBytes(e.Headers[h].Key), a.Headers[h].Key);
                Xunit.Assert.Equal(e.Headers[h].Value, a.Headers[h].Value);
            }
        }
    }
}
