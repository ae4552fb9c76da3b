
namespace Messaging.Pools;

/// <summary>
/// Pools that pool nothing: every rent allocates and every return is left to the garbage collector. For comparison
/// runs and for applications that keep records for a long time. <see cref="ConsumerPools.None"/> is a set of all four.
/// </summary>
public static class NoPooling
{
    /// <summary>A decompression-buffer "pool" that allocates four times the compressed size and grows by copying.</summary>
    public static IDecompressionBufferPool DecompressionBuffers { get; } = new NoDecompressionBuffers();

    /// <summary>A record "pool" that allocates every record object.</summary>
    public static IRecordPool Records { get; } = new NoRecords();

    /// <summary>A record-slice "pool" that allocates every array.</summary>
    public static IRecordSlicePool RecordSlices { get; } = new NoRecordSlices();

    /// <summary>A fetch-response "pool" that allocates every buffer at the response's exact size.</summary>
    public static IFetchResponsePool FetchResponses { get; } = new NoFetchResponses();

    private sealed class NoDecompressionBuffers : IDecompressionBufferPool
    {
        public byte[] Rent(int compressedSize, CompressionType codec) => Rent(compressedSize, codec, Array.MaxLength);

        public byte[] Rent(int compressedSize, CompressionType codec, int maxLength)
        {
            // Four times the compressed size, at least 256 bytes, never above the limit.
            var max = Math.Max(maxLength, 1);
            return GC.AllocateUninitializedArray<byte>((int)Math.Min(Math.Max((long)compressedSize * 4, 256), max));
        }

        public byte[] Grow(byte[] buffer, int usedLength, int minimumLength)
        {
            ArgumentNullException.ThrowIfNull(buffer);
            byte[] larger = GC.AllocateUninitializedArray<byte>(Math.Max(minimumLength, usedLength));
            buffer.AsSpan(0, usedLength).CopyTo(larger);
            return larger;
        }

        public void Return(byte[] buffer)
        {
        }
    }

    private sealed class NoRecords : IRecordPool
    {
        public void Rent(Span<PooledRecord> destination)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = new PooledRecord();
            }
        }

        public void Return(ReadOnlySpan<PooledRecord> records)
        {
        }
    }

    private sealed class NoFetchResponses : IFetchResponsePool
    {
        public byte[] Rent(int length) => GC.AllocateUninitializedArray<byte>(length);

        public void Return(byte[] buffer)
        {
        }
    }

    private sealed class NoRecordSlices : IRecordSlicePool
    {
        public ConsumedRecord[] Rent(int minimumLength) => new ConsumedRecord[Math.Max(minimumLength, 1)];

        public void Return(ConsumedRecord[] array)
        {
        }
    }
}
