using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Messaging.Consumer;
using Messaging.Pools;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>
/// Random interleavings of consuming (decoding slices), recycling single records, disposing batches, and reading
/// records: a live record always reads its own bytes (never another batch's — returned buffers are poisoned and handed
/// out again at once), a recycled one always throws, and at the end every rented buffer, record object and array came
/// back exactly once.
/// </summary>
public sealed class PoolLifetimePropertyTests
{
    private static readonly CompressionType[] Codecs = [CompressionType.None, CompressionType.Lz4, CompressionType.Zstd, CompressionType.Snappy, CompressionType.Gzip];

    [Property(MaxTest = 150)]
    public Property Interleaved_consume_recycle_and_dispose_never_expose_foreign_bytes_and_return_everything() =>
        Prop.ForAll(
            Gen.Choose(1, 4).SelectMany(chunks => Gen.ListOf(Gen.Choose(0, 99), 60)
                .SelectMany(ops => Gen.Choose(1, 9).Select(capacity => (chunks, ops, capacity)))).ToArbitrary(),
            input => Run(input.chunks, [.. input.ops], input.capacity, seed: input.ops.Sum()));

    private static bool Run(int chunkCount, int[] ops, int capacity, int seed)
    {
        var random = new Random(seed);
        var frames = new CountingResponsePool();
        var decompression = new ReusingDecompressionPool();
        var records = new ReusingRecordPool();
        var slices = new ReusingSlicePool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 0));
        var decoder = Decoder(decompression, maxDecompressed: 1 << 20);
        var pending = new Queue<FetchedPartition>();
        long offset = 0;
        for (int c = 0; c < chunkCount; c++)
        {
            long start = offset;
            var parts = new List<byte[]>();
            for (int b = random.Next(1, 4); b > 0; b--)
            {
                int count = random.Next(1, 25);
                var codec = Codecs[random.Next(Codecs.Length)];
                parts.Add(Batch(offset, count, Expected, codec));
                offset += count;
            }

            pending.Enqueue(Chunk(Concat([.. parts]), start, cursor, frames));
        }

        FetchedPartition? current = null;
        var batches = new List<ConsumeBatch>();
        var handles = new List<(ConsumedRecord Record, ConsumeBatch Batch)>();
        var recycled = new HashSet<int>();
        var decoded = new List<long>();

        // The random operations, then: consume everything left, read everything once more.
        var tail = Enumerable.Repeat(0, (int)offset + 5).Append(3);
        foreach (int op in ops.Concat(tail))
        {
            switch (op % 4)
            {
                case 0: // consume a slice
                    if (current is null && pending.Count > 0)
                    {
                        current = pending.Dequeue();
                        decoder.Start(current);
                    }

                    if (current is null)
                    {
                        break;
                    }

                    var slice = RecordSlice.Rent(records, slices, capacity, cursor.TopicPartition, cursor, cursor.Generation);
                    decoder.Decode(slice);
                    slice.Seal();
                    if (decoder.IsDone)
                    {
                        decoder.Stop();
                        Done(current);
                        current = null;
                    }

                    if (slice.Count > 0)
                    {
                        var batch = new ConsumeBatch(slice);
                        batches.Add(batch);
                        foreach (var record in batch.Records)
                        {
                            handles.Add((record, batch));
                            decoded.Add(record.Offset);
                        }
                    }

                    break;
                case 1 when handles.Count > 0: // recycle one record (maybe again)
                {
                    int i = random.Next(handles.Count);
                    if (recycled.Contains(i) || handles[i].Batch.IsDisposed)
                    {
                        Assert.Throws<ObjectDisposedException>(() => handles[i].Record.Recycle());
                    }
                    else
                    {
                        handles[i].Record.Recycle();
                    }

                    recycled.Add(i);
                    break;
                }

                case 2 when batches.Count > 0: // dispose a batch (maybe again)
                    batches[random.Next(batches.Count)].Dispose();
                    break;
                default: // read every handle
                    for (int i = 0; i < handles.Count; i++)
                    {
                        var (record, batch) = handles[i];
                        if (recycled.Contains(i) || batch.IsDisposed)
                        {
                            Assert.True(record.IsRecycled);
                            Assert.Throws<ObjectDisposedException>(() => record.Value);
                        }
                        else
                        {
                            long at = record.Offset;
                            Assert.Equal(Expected(at), Encoding.UTF8.GetString(record.Value.Span));
                            Assert.Equal("k" + at, Encoding.UTF8.GetString(record.Key.Span));
                        }
                    }

                    break;
            }
        }

        Assert.Null(current);
        Assert.Empty(pending);
        Assert.Equal(Enumerable.Range(0, (int)offset).Select(i => (long)i), decoded); // everything, once, in order

        foreach (var batch in batches)
        {
            batch.Dispose();
        }

        Assert.Equal(frames.Rents, frames.Returns);
        Assert.Equal(decompression.Rents, decompression.Returns);
        Assert.Equal(records.Rents, records.Returns);
        Assert.Equal(slices.Rents, slices.Returns);
        return true;
    }

    private static string Expected(long offset) => "value-" + offset + new string((char)('a' + offset % 26), (int)(offset * 7 % 40));

    private sealed class ReusingRecordPool : IRecordPool
    {
        private readonly HashSet<PooledRecord> _out = new(ReferenceEqualityComparer.Instance);
        private readonly Stack<PooledRecord> _free = new();

        public int Rents { get; private set; }

        public int Returns { get; private set; }

        public void Rent(Span<PooledRecord> destination)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = _free.Count > 0 ? _free.Pop() : new PooledRecord();
                Assert.True(_out.Add(destination[i]));
                Rents++;
            }
        }

        public void Return(ReadOnlySpan<PooledRecord> records)
        {
            foreach (var record in records)
            {
                Assert.True(_out.Remove(record), "returned a record object twice");
                Returns++;
                _free.Push(record);
            }
        }
    }

    private sealed class ReusingSlicePool : IRecordSlicePool
    {
        private readonly HashSet<ConsumedRecord[]> _out = new(ReferenceEqualityComparer.Instance);
        private readonly Stack<ConsumedRecord[]> _free = new();

        public int Rents { get; private set; }

        public int Returns { get; private set; }

        public ConsumedRecord[] Rent(int minimumLength)
        {
            Rents++;
            var array = _free.Count > 0 && _free.Peek().Length >= minimumLength ? _free.Pop() : new ConsumedRecord[minimumLength];
            Assert.True(_out.Add(array));
            return array;
        }

        public void Return(ConsumedRecord[] array)
        {
            Assert.True(_out.Remove(array), "returned an array twice");
            Assert.All(array, handle => Assert.True(handle.IsRecycled)); // cleared
            Returns++;
            _free.Push(array);
        }
    }
}
