using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Messaging.Buffers;
using Messaging.Compression;
using Messaging.Consumer;
using Messaging.Core.Tests.Consumer;
using Messaging.Pools;
using Messaging.Protocol;

namespace Messaging.Core.Tests.Buffers;

/// <summary>
/// The grow-and-slice core and the three writers over it: any sequence of span/memory requests, partial writes and
/// clears leaves exactly the bytes a <see cref="MemoryStream"/> holds for the same writes, and every array rented is
/// returned exactly once.
/// </summary>
public sealed class GrowableBufferTests
{
    /// <summary>One step: a request of <c>Hint</c> bytes (span or memory) of which <c>Take</c> (mod what was handed out, plus one) are written, or a clear.</summary>
    private static readonly Gen<(int Hint, int Take, bool Memory, bool Clear)> Step =
        Gen.Choose(0, 600).SelectMany(hint => Gen.Choose(0, 1000).SelectMany(take => Gen.Elements(false, true)
            .SelectMany(memory => Gen.Frequency((1, Gen.Constant(true)), (30, Gen.Constant(false)))
                .Select(clear => (hint, take, memory, clear)))));

    private static readonly Arbitrary<List<(int Hint, int Take, bool Memory, bool Clear)>> Steps = Gen.ListOf(Step).Select(s => s.ToList()).ToArbitrary();

    [Property(MaxTest = 200)]
    public Property Contiguous_writer_matches_a_memory_stream_and_returns_every_array() =>
        Prop.ForAll(Steps, steps =>
        {
            var pool = new CountingArrayPool();
            var writer = new ContiguousBufferWriter(1, pool);
            Replay(steps, writer, () => writer.WrittenMemory, writer.Clear, rent: n => writer.Reset(n, 512));
            writer.Dispose();
            writer.Dispose();
            Assert.Equal(pool.Rents, pool.Returns);
            Assert.Equal(0, pool.Outstanding);
        });

    [Property(MaxTest = 200)]
    public Property Decompression_buffer_matches_a_memory_stream() =>
        Prop.ForAll(Steps, steps =>
        {
            using var buffer = new DecompressionBuffer(0);
            Replay(steps, buffer, () => buffer.WrittenMemory, buffer.Reset);
        });

    [Property(MaxTest = 200)]
    public Property Pooled_decompression_writer_matches_a_memory_stream_and_returns_every_buffer() =>
        Prop.ForAll(Steps, Gen.Choose(1, 64).ToArbitrary(), (steps, firstSize) =>
        {
            var pool = new ReusingDecompressionPool(firstSize); // tiny first buffers, so writers grow
            var writer = new PooledDecompressionWriter(pool, limit: 1 << 20);
            writer.Start(firstSize, CompressionType.Lz4);

            // A "clear" hands the filled buffer over and starts the next batch, as the consumer does batch after batch.
            var detached = new List<byte[]>();
            void NextBatch()
            {
                detached.Add(writer.Detach(out _));
                writer.Start(firstSize, CompressionType.Zstd);
            }

            Replay(steps, writer, () => writer.WrittenMemory, NextBatch);
            writer.Abandon();
            detached.ForEach(pool.Return);
            Assert.Equal(pool.Rents, pool.Returns);
            Assert.Equal(0, pool.Outstanding);
        });

    [Fact]
    public void Growth_doubles_up_to_the_cap_but_always_fits_the_write()
    {
        var buffer = new GrowableBuffer<ArrayPoolSource>(new ArrayPoolSource(new CountingArrayPool(), returnsReplaced: false), new byte[100], doublingCap: 150);
        buffer.Advance(100);
        Assert.Equal(150, buffer.GetSpan(1).Length + buffer.WrittenCount); // doubled to 200, capped at 150
        Assert.Equal(400, buffer.GetSpan(300).Length + buffer.WrittenCount); // past the cap: exactly what the write needs
    }

    [Fact]
    public void Advancing_past_the_span_or_asking_a_negative_size_throws()
    {
        using var writer = new ContiguousBufferWriter(256, new CountingArrayPool());
        int length = writer.GetSpan(10).Length;
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(length + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.GetSpan(-1));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void A_disposed_writer_rents_nothing_more()
    {
        var pool = new CountingArrayPool();
        var writer = new ContiguousBufferWriter(256, pool);
        writer.Dispose();
        Assert.Throws<InvalidOperationException>(() => writer.GetSpan(1));
        Assert.Throws<ObjectDisposedException>(() => writer.Reset(10, 100));
        Assert.Equal(1, pool.Rents);
        Assert.Equal(1, pool.Returns);
    }

    [Fact]
    public void A_pool_that_grows_too_little_is_refused()
    {
        var writer = new PooledDecompressionWriter(new ShortGrowingPool(), limit: 1 << 20);
        writer.Start(16, CompressionType.Lz4);
        writer.Advance(16);
        Assert.Throws<InvalidOperationException>(() => writer.GetSpan(1));
    }

    /// <summary>Replays <paramref name="steps"/> on <paramref name="writer"/> and on a memory stream, comparing after every step.</summary>
    private static void Replay(
        List<(int Hint, int Take, bool Memory, bool Clear)> steps, IBufferWriter<byte> writer, Func<ReadOnlyMemory<byte>> written, Action clear, Action<int>? rent = null)
    {
        using var expected = new MemoryStream();
        byte next = 0;
        foreach (var (hint, take, memory, isClear) in steps)
        {
            if (isClear)
            {
                if (rent is not null && take % 2 == 0)
                {
                    rent(hint);
                }
                else
                {
                    clear();
                }

                expected.SetLength(0);
                continue;
            }

            Span<byte> span = memory ? writer.GetMemory(hint).Span : writer.GetSpan(hint);
            Assert.True(span.Length >= Math.Max(hint, 1), "the writer handed out less room than asked for");
            int count = take % (span.Length + 1);
            for (int i = 0; i < count; i++)
            {
                span[i] = next;
                expected.WriteByte(next);
                next = unchecked((byte)(next * 31 + 7));
            }

            writer.Advance(count);
            Assert.Equal(expected.ToArray(), written().ToArray());
        }
    }

    /// <summary>An array pool that hands out exact-size arrays, counts, and fails on an array returned twice or never rented.</summary>
    private sealed class CountingArrayPool : ArrayPool<byte>
    {
        private readonly HashSet<byte[]> _out = new(ReferenceEqualityComparer.Instance);

        public int Rents { get; private set; }

        public int Returns { get; private set; }

        public int Outstanding => _out.Count;

        public override byte[] Rent(int minimumLength)
        {
            var array = new byte[minimumLength];
            _out.Add(array);
            Rents++;
            return array;
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Assert.True(_out.Remove(array), "an array was returned twice, or was never rented");
            Returns++;
            array.AsSpan().Fill(0xDD); // poison: a writer still reading it fails the comparison
        }
    }

    private sealed class ShortGrowingPool : IDecompressionBufferPool
    {
        public byte[] Rent(int compressedSize, CompressionType codec) => new byte[compressedSize];

        public byte[] Grow(byte[] buffer, int usedLength, int minimumLength) => buffer;

        public void Return(byte[] buffer)
        {
        }
    }
}
