using System.Diagnostics.Metrics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Messaging.Buffers;
using Messaging.Pools;

namespace Messaging.Core.Tests.Buffers;

/// <summary>The default pools: size classes, bounded retention, counters and metrics; the no-pooling pools.</summary>
public sealed class PoolTests
{
    private static BucketedPoolOptions Small(int perBucket = 2, long maxBytes = 1 << 20) =>
        new() { MinBucketSize = 1024, MaxBucketSize = 1 << 16, MaxRetainedPerBucket = perBucket, MaxRetainedBytes = maxBytes };

    [Theory]
    [InlineData(1, 1024)]
    [InlineData(1024, 1024)]
    [InlineData(1025, 1280)]
    [InlineData(1281, 1536)]
    [InlineData(1537, 1792)]
    [InlineData(1793, 2048)]
    [InlineData(40_000, 40_960)]
    [InlineData(65_536, 65_536)]
    [InlineData(65_537, 65_537)] // above the largest bucket: exact, never retained
    public void Buffers_come_in_four_size_classes_per_doubling(int asked, int length)
    {
        var pool = new DecompressionBufferPool(Small());
        var buffer = pool.Grow(pool.Rent(1, CompressionType.Lz4), 0, asked);
        Assert.Equal(length, buffer.Length);
    }

    [Fact]
    public void The_first_decompression_buffer_of_a_batch_is_no_larger_than_the_decompression_limit()
    {
        // The default guess is four times the compressed size: 256 KiB for a 64 KiB batch, where at most 8 KiB may come out.
        foreach (var pool in new[] { new DecompressionBufferPool(Small()), NoPooling.DecompressionBuffers })
        {
            var writer = new Messaging.Consumer.PooledDecompressionWriter(pool, limit: 8 * 1024);
            writer.Start(64 * 1024, CompressionType.Lz4);
            var buffer = writer.Detach(out _);
            Assert.True(buffer.Length <= 8 * 1024, pool.GetType().Name + " rented " + buffer.Length + " bytes for a batch limited to 8192");
            pool.Return(buffer);
        }

        // Below the limit the guess stands.
        var guessing = new Messaging.Consumer.PooledDecompressionWriter(new DecompressionBufferPool(Small()), limit: 1 << 20);
        guessing.Start(4 * 1024, CompressionType.Lz4);
        Assert.Equal(16 * 1024, guessing.Detach(out _).Length);
    }

    [Fact]
    public void Returned_buffers_are_reused_and_counted()
    {
        var pool = new DecompressionBufferPool(Small());
        var first = pool.Rent(1000, CompressionType.Zstd); // guess: four times the compressed size
        Assert.Equal(4096, first.Length);
        pool.Return(first);
        Assert.Same(first, pool.Rent(900, CompressionType.Zstd));
        var stats = pool.Statistics;
        Assert.Equal(2, stats.Rents);
        Assert.Equal(1, stats.Returns);
        Assert.Equal(1, stats.Misses);
        Assert.Equal(0, stats.RetainedBytes);
        pool.Return(new byte[1000]); // not a size the pool hands out
        Assert.Equal(1, pool.Statistics.Drops);
    }

    [Fact]
    public void Growing_hands_back_the_original_and_keeps_the_bytes()
    {
        var pool = new DecompressionBufferPool(Small());
        var original = pool.Rent(256, CompressionType.Lz4);
        original.AsSpan(0, 3).CopyTo(stackalloc byte[3]);
        original[0] = 1;
        original[1] = 2;
        var grown = pool.Grow(original, 2, 5000);
        Assert.Equal([1, 2], grown.AsSpan(0, 2).ToArray());
        Assert.True(grown.Length >= 5000);
        Assert.Same(original, pool.Rent(256, CompressionType.Lz4)); // the original went straight back
        pool.Return(grown);
    }

    [Property(MaxTest = 100)]
    public Property Retained_memory_never_exceeds_the_configured_bounds() =>
        Prop.ForAll(Gen.ListOf(Gen.Choose(1, 70_000), 200).ToArbitrary(), sizes =>
        {
            var options = Small(perBucket: 3, maxBytes: 40_000);
            var pool = new DecompressionBufferPool(options);
            var held = new List<byte[]>();
            var random = new Random(sizes.Count);
            foreach (int size in sizes)
            {
                if (random.Next(3) == 0 && held.Count > 0)
                {
                    int i = random.Next(held.Count);
                    pool.Return(held[i]);
                    held.RemoveAt(i);
                }
                else
                {
                    held.Add(pool.Grow(pool.Rent(1, CompressionType.Gzip), 0, size));
                }

                Assert.InRange(pool.Statistics.RetainedBytes, 0, options.MaxRetainedBytes);
            }

            foreach (var buffer in held)
            {
                pool.Return(buffer);
                Assert.InRange(pool.Statistics.RetainedBytes, 0, options.MaxRetainedBytes);
            }

            var stats = pool.Statistics;
            return stats.Returns + stats.Drops >= stats.Returns && stats.RetainedCount <= 17 * 4 * 3;
        });

    [Fact]
    public void A_bucket_keeps_at_most_its_count()
    {
        var pool = new RecordSlicePool(new BucketedPoolOptions { MinBucketSize = 16, MaxBucketSize = 1024, MaxRetainedPerBucket = 2, MaxRetainedBytes = 1 << 20 });
        var arrays = Enumerable.Range(0, 5).Select(_ => pool.Rent(100)).ToList();
        arrays.ForEach(pool.Return);
        Assert.Equal(2, pool.Statistics.RetainedCount);
        Assert.Equal(3, pool.Statistics.Drops);
        Assert.Equal(2 * 112 * System.Runtime.CompilerServices.Unsafe.SizeOf<ConsumedRecord>(), pool.Statistics.RetainedBytes);
    }

    [Fact]
    public void The_record_pool_rents_and_returns_in_groups_within_its_bound()
    {
        var pool = new RecordPool(new RecordPoolOptions { MaxRetained = 10 });
        var records = new PooledRecord[8];
        pool.Rent(records);
        Assert.All(records, Assert.NotNull);
        Assert.Equal(8, pool.Statistics.Misses);
        pool.Return(records);
        var again = new PooledRecord[12];
        pool.Rent(again);
        Assert.Equal(8, again.Intersect(records, ReferenceEqualityComparer.Instance).Count());
        pool.Return(again);
        Assert.Equal(10, pool.Statistics.RetainedCount);
        Assert.Equal(2, pool.Statistics.Drops);
    }

    [Fact]
    public void A_disabled_pool_allocates_every_time_and_keeps_nothing()
    {
        var pool = new DecompressionBufferPool(new BucketedPoolOptions { Enabled = false, MinBucketSize = 1024, MaxBucketSize = 1 << 20, MaxRetainedPerBucket = 8, MaxRetainedBytes = 1 << 24 });
        var buffer = pool.Rent(100, CompressionType.Lz4);
        pool.Return(buffer);
        Assert.NotSame(buffer, pool.Rent(100, CompressionType.Lz4));
        Assert.Equal(0, pool.Statistics.RetainedBytes);
        Assert.Equal(2, pool.Statistics.Misses);

        var records = new PooledRecord[2];
        NoPooling.Records.Rent(records);
        NoPooling.Records.Return(records);
        Assert.Equal(3, NoPooling.RecordSlices.Rent(3).Length);
        var grown = NoPooling.DecompressionBuffers.Grow([1, 2, 3], 2, 10);
        Assert.Equal([1, 2, 0], grown.AsSpan(0, 3).ToArray());
    }

    [Fact]
    public void Pool_operations_are_published_as_metrics()
    {
        var measured = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = ListenToPool("decompression-buffers", measured);

        var pool = new DecompressionBufferPool(Small());
        var buffer = pool.Rent(10, CompressionType.Lz4);
        pool.Return(buffer);
        pool.Return(new byte[3]);
        listener.RecordObservableInstruments();

        Assert.True(Measured(measured, "messaging.kafka.pool.rents") >= 1);
        Assert.True(Measured(measured, "messaging.kafka.pool.returns") >= 2);
        Assert.True(Measured(measured, "messaging.kafka.pool.misses") >= 1);
        Assert.True(Measured(measured, "messaging.kafka.pool.allocated") >= buffer.Length);
        Assert.True(Measured(measured, "messaging.kafka.pool.drops") >= 1);
        Assert.True(Measured(measured, "messaging.kafka.pool.retained_bytes") >= 1024);
    }

    [Fact]
    public void The_producer_batch_pool_publishes_what_it_allocates()
    {
        var measured = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = ListenToPool(Messaging.Producer.BufferPool.MetricsName, measured);

        var pool = new Messaging.Producer.BufferPool(1024 * 1024, batchSize: 64 * 1024);
        var buffer = pool.TryRent(20_000)!;
        pool.Return(buffer);
        Assert.Same(buffer, pool.TryRent(20_000)); // reused: no second allocation
        listener.RecordObservableInstruments();

        Assert.Equal(32 * 1024, pool.AllocatedBytes);
        Assert.Equal(new PoolStatistics(Rents: 2, Returns: 1, Misses: 1, Drops: 0, RetainedCount: 0, RetainedBytes: 0), pool.Statistics);
        Assert.True(Measured(measured, "messaging.kafka.pool.allocated") >= 32 * 1024);
        Assert.True(Measured(measured, "messaging.kafka.pool.rents") >= 2);
        Assert.True(Measured(measured, "messaging.kafka.pool.misses") >= 1);
    }

    private static long Measured(Dictionary<string, long> measured, string name)
    {
        lock (measured)
        {
            return measured.GetValueOrDefault(name);
        }
    }

    /// <summary>Sums every measurement of the pools meter tagged with <paramref name="pool"/> into <paramref name="measured"/>, by instrument.</summary>
    private static MeterListener ListenToPool(string pool, Dictionary<string, long> measured)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PoolMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "pool" && (string?)tag.Value == pool)
                {
                    lock (measured)
                    {
                        measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + value;
                    }
                }
            }
        });
        listener.Start();
        return listener;
    }

    [Fact]
    public void Pools_without_a_count_limit_are_built_and_keep_what_is_returned()
    {
        // int.MaxValue ("no limit but the bytes") for every count the settings accept.
        var settings = new ConsumerPoolOptions();
        settings.Records.MaxRetained = int.MaxValue;
        settings.RecordSlices.MaxRetainedPerBucket = int.MaxValue;
        settings.DecompressionBuffers.MaxRetainedPerBucket = int.MaxValue;
        settings.FetchResponses.MaxRetainedPerBucket = int.MaxValue;

        var pools = ConsumerPools.Create(settings);

        var records = new PooledRecord[40];
        pools.Records.Rent(records);
        pools.Records.Return(records);
        var again = new PooledRecord[40];
        pools.Records.Rent(again);
        Assert.Equal(40, again.Intersect(records, ReferenceEqualityComparer.Instance).Count());
        var slicePool = Assert.IsType<RecordSlicePool>(pools.RecordSlices);
        var slices = Enumerable.Range(0, 40).Select(_ => slicePool.Rent(100)).ToList();
        slices.ForEach(slicePool.Return);
        Assert.Equal(40, slicePool.Statistics.RetainedCount);
        Assert.Equal(0, slicePool.Statistics.Drops);
    }

    [Fact]
    public void Invalid_settings_are_rejected_naming_the_pool()
    {
        var settings = new ConsumerPoolOptions();
        settings.DecompressionBuffers.MaxBucketSize = 10;
        var error = Assert.Throws<ArgumentException>(() => ConsumerPools.Create(settings));
        Assert.Contains("Pools.DecompressionBuffers.MaxBucketSize", error.Message, StringComparison.Ordinal);
        settings.DecompressionBuffers = new ConsumerPoolOptions().DecompressionBuffers;
        settings.Records.MaxRetained = -1;
        Assert.Contains("Pools.Records.MaxRetained", Assert.Throws<ArgumentException>(() => ConsumerPools.Create(settings)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fetch_response_pool_reuses_buffers_and_the_no_pooling_one_allocates_exactly()
    {
        var pool = new FetchResponsePool(Small());
        var buffer = pool.Rent(3000);
        Assert.Equal(3072, buffer.Length);
        pool.Return(buffer);
        Assert.Same(buffer, pool.Rent(2900));
        Assert.Equal(new PoolStatistics(Rents: 2, Returns: 1, Misses: 1, Drops: 0, RetainedCount: 0, RetainedBytes: 0), pool.Statistics);
        Assert.Equal(3000, NoPooling.FetchResponses.Rent(3000).Length);
    }
}
