using System.Text;
using Messaging.Connection;
using Messaging.Consumer;
using Messaging.Pools;
using Messaging.Protocol.Messages;
using Messaging.Records;

namespace Messaging.Core.Tests.Consumer;

/// <summary>Hand-built fetched data and the decoding harness the consumer unit tests share.</summary>
internal static class ConsumerTestData
{
    public const string Topic = "unit";

    public static byte[] Batch(long baseOffset, int count, Func<long, string?> value, CompressionType compression = CompressionType.None, Action<RecordBatchBuilder>? configure = null)
    {
        using var builder = new RecordBatchBuilder(64) { Compression = compression, BaseOffset = baseOffset };
        configure?.Invoke(builder);
        for (int i = 0; i < count; i++)
        {
            string? v = value(baseOffset + i);
            builder.Append(1_700_000_000_000 + baseOffset + i, Encoding.UTF8.GetBytes("k" + (baseOffset + i)), v is null ? default : Encoding.UTF8.GetBytes(v), default, v is null ? RecordNulls.Value : RecordNulls.None);
        }

        return builder.Build().ToArray();
    }

    /// <summary>A transactional batch of producer <paramref name="producerId"/>.</summary>
    public static byte[] Transactional(long baseOffset, long producerId, params string[] values)
    {
        using var builder = new RecordBatchBuilder(64) { BaseOffset = baseOffset, ProducerId = producerId, ProducerEpoch = 0, BaseSequence = 0, IsTransactional = true };
        foreach (var v in values)
        {
            builder.Append(1_700_000_000_000, default, Encoding.UTF8.GetBytes(v));
        }

        return builder.Build().ToArray();
    }

    /// <summary>A COMMIT or ABORT marker of producer <paramref name="producerId"/> at <paramref name="offset"/>.</summary>
    public static byte[] Marker(long offset, long producerId, ControlRecordType type)
    {
        using var builder = new RecordBatchBuilder(64) { BaseOffset = offset, ProducerId = producerId, ProducerEpoch = 0, IsTransactional = true };
        builder.AppendControlRecord(1_700_000_000_000, type, 0);
        return builder.Build().ToArray();
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static FetchResponse.AbortedTransaction Aborted(long producerId, long firstOffset) => new() { ProducerId = producerId, FirstOffset = firstOffset };

    /// <summary>
    /// A fetched partition over <paramref name="records"/>, inside a frame from <paramref name="frames"/> (with a few
    /// header bytes before the records, as in a real response). The chunk holds the frame's only reference.
    /// </summary>
    public static FetchedPartition Chunk(byte[] records, long fetchOffset, PartitionCursor cursor, IResponseBufferPool frames, FetchResponse.AbortedTransaction[]? aborted = null)
    {
        var buffer = frames.TryRent(records.Length + 16)!;
        buffer.AsSpan(0, 16).Fill(0xEE);
        records.CopyTo(buffer, 16);
        var shared = SharedBuffer.ForFrame(ResponseFrame.Wrap(buffer, records.Length + 16, frames));
        return FetchedPartition.ForData(cursor, cursor.Generation, fetchOffset, shared.Memory.Slice(16, records.Length), shared, aborted);
    }

    /// <summary>Releases what the fetcher's Done would: the frame reference and the object.</summary>
    public static void Done(FetchedPartition chunk)
    {
        chunk.Frame?.Release();
        chunk.Recycle();
    }

    public static ChunkDecoder Decoder(IDecompressionBufferPool? pool = null, bool readCommitted = false, bool verifyCrc = true, int maxDecompressed = 1 << 24) =>
        new(new RecordDecoderOptions { VerifyCrc = verifyCrc, MaxDecompressedBatchBytes = maxDecompressed }, readCommitted,
            new PooledDecompressionWriter(pool ?? NoPooling.DecompressionBuffers, maxDecompressed));

    /// <summary>Decodes a whole chunk, copying each record out; returns the records and the decoder's final position.</summary>
    public static (List<(long Offset, string? Value)> Records, long NextOffset) DecodeAll(
        byte[] records, long fetchOffset = 0, bool readCommitted = false, FetchResponse.AbortedTransaction[]? aborted = null, int sliceCapacity = 7, bool verifyCrc = true)
    {
        var frames = new CountingResponsePool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 0));
        var chunk = Chunk(records, fetchOffset, cursor, frames, aborted);
        var decoder = Decoder(readCommitted: readCommitted, verifyCrc: verifyCrc);
        var result = new List<(long, string?)>();
        decoder.Start(chunk);
        while (!decoder.IsDone)
        {
            var slice = RecordSlice.Rent(NoPooling.Records, NoPooling.RecordSlices, sliceCapacity, cursor.TopicPartition, cursor, cursor.Generation);
            decoder.Decode(slice);
            slice.Seal();
            foreach (var record in slice.Records)
            {
                result.Add((record.Offset, record.IsValueNull ? null : Encoding.UTF8.GetString(record.Value.Span)));
            }

            if (slice.Count > 0)
            {
                slice.RecycleOwned();
            }

            if (decoder.PendingError is { } pending)
            {
                throw pending;
            }
        }

        long next = decoder.NextOffset;
        decoder.Stop();
        Done(chunk);
        Assert.Equal(frames.Rents, frames.Returns);
        return (result, next);
    }
}

/// <summary>A response-buffer pool that counts, and fails on a buffer returned twice.</summary>
internal sealed class CountingResponsePool : IResponseBufferPool
{
    private readonly HashSet<byte[]> _out = new(ReferenceEqualityComparer.Instance);

    public int Rents { get; private set; }

    public int Returns { get; private set; }

    public byte[]? TryRent(int length)
    {
        var buffer = new byte[length];
        lock (_out)
        {
            _out.Add(buffer);
            Rents++;
        }

        return buffer;
    }

    public void Return(byte[] buffer)
    {
        lock (_out)
        {
            Assert.True(_out.Remove(buffer), "a frame buffer was returned twice, or was never rented");
            Returns++;
        }

        buffer.AsSpan().Fill(0xDD); // poison: anything still reading it sees garbage
    }
}

/// <summary>
/// A decompression-buffer pool that counts, fails on a buffer returned twice or never rented, and poisons what comes
/// back and hands it out again first, so a stale reader sees garbage. Its new buffers are <c>firstSize</c> bytes.
/// </summary>
internal sealed class ReusingDecompressionPool(int firstSize = 64) : IDecompressionBufferPool
{
    private readonly HashSet<byte[]> _out = new(ReferenceEqualityComparer.Instance);
    private readonly Stack<byte[]> _free = new();

    public int Rents { get; private set; }

    public int Returns { get; private set; }

    public int Outstanding => _out.Count;

    public byte[] Rent(int compressedSize, CompressionType codec)
    {
        Rents++;
        var buffer = _free.Count > 0 ? _free.Pop() : new byte[firstSize];
        _out.Add(buffer);
        return buffer;
    }

    public byte[] Grow(byte[] buffer, int usedLength, int minimumLength)
    {
        Assert.True(_out.Remove(buffer), "grew a buffer that is not out");
        var larger = new byte[minimumLength];
        buffer.AsSpan(0, usedLength).CopyTo(larger);
        buffer.AsSpan().Fill(0xDD);
        _out.Add(larger);
        return larger;
    }

    public void Return(byte[] buffer)
    {
        Assert.True(_out.Remove(buffer), "returned a buffer twice, or one never rented");
        Returns++;
        buffer.AsSpan().Fill(0xDD);
        _free.Push(buffer);
    }
}
