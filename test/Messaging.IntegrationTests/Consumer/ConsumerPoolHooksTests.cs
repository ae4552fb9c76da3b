using System.Collections.Concurrent;
using Messaging.IntegrationTests.Support;
using Messaging.Pools;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// Every pool set in <see cref="KafkaConsumerOptions.Pools"/> is the one the consumer rents from — decompression
/// buffers, record objects, record slices and fetch responses — and everything rented comes back once the batches and
/// the consumer are disposed.
/// </summary>
public sealed class ConsumerPoolHooksTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Each_pool_hook_is_used_when_set_and_gets_everything_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("pool-hooks");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 2, 600, 100, Confluent.Kafka.CompressionType.Lz4, ct);

        var decompression = new CountingDecompressionPool();
        var records = new CountingRecordPool();
        var slices = new CountingSlicePool();
        var responses = new CountingFetchResponsePool();
        var pools = new ConsumerPools(decompression, records, slices, responses);
        await using (var consumer = new KafkaConsumer(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.Pools = pools)))
        {
            consumer.Assign(ConsumerTestSupport.All(topic, 2, OffsetSpec.Earliest));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            int total = 0;
            while (total < 600)
            {
                using var batch = await consumer.ConsumeBatchAsync(timeout.Token);
                total += batch.Records.Length;
            }
        }

        Assert.True(decompression.Rents > 0, "the decompression-buffer pool was not used");
        Assert.True(records.Rents > 0, "the record pool was not used");
        Assert.True(slices.Rents > 0, "the record-slice pool was not used");
        Assert.True(responses.Rents > 0, "the fetch-response pool was not used");

        await AssertAllReturnedAsync(decompression, records, slices, responses, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_rest_of_a_slice_a_read_stopped_inside_goes_to_the_next_read_of_any_kind_and_back_to_the_pools()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        var topic = "stop-inside-pools";
        fake.CreateTopic(topic, 1);
        fake.Append(topic, 0, ConsumerTestSupport.Batch(30, CompressionType.Lz4));
        var partition = new TopicPartition(topic, 0);

        var decompression = new CountingDecompressionPool();
        var records = new CountingRecordPool();
        var slices = new CountingSlicePool();
        var responses = new CountingFetchResponsePool();
        var pools = new ConsumerPools(decompression, records, slices, responses);
        await using (var consumer = new KafkaConsumer(ConsumerTestSupport.Options(fake.BootstrapServers, o => o.Pools = pools)))
        {
            var typed = new KafkaConsumer<byte[]?, byte[]?>(consumer, Deserializers.ByteArray, Deserializers.ByteArray);
            consumer.Assign([new TopicPartitionOffset(partition, 0)]);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(20));
            Assert.Equal([0L, 1, 2, 3, 4], await ConsumerTestSupport.ReadRawAsync(consumer, 5, TimeSpan.FromSeconds(10), ct));

            Assert.Equal([5L, 6, 7, 8, 9], (await ConsumerTestSupport.ReadAsync(typed, 5, TimeSpan.FromSeconds(10), ct)).Select(r => r.Offset));
            using (var batch = await consumer.ConsumeBatchAsync(timeout.Token))
            {
                Assert.Equal(20, batch.Count);
                Assert.Equal(Enumerable.Range(10, 20).Select(i => (long)i), batch.Records.ToArray().Select(r => r.Offset));
            }

            Assert.Equal(30, consumer.Position(partition));
            fake.Append(topic, 0, ConsumerTestSupport.Batch(30, CompressionType.Lz4));
            Assert.Equal([30L, 31, 32], await ConsumerTestSupport.ReadRawAsync(consumer, 3, TimeSpan.FromSeconds(10), ct)); // the rest is held when the consumer closes
        }


        Assert.True(decompression.Rents > 0, "the decompression-buffer pool was not used");
        await AssertAllReturnedAsync(decompression, records, slices, responses, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Seeks_pauses_unassignment_and_a_dispose_with_data_queued_give_everything_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        var topic = "churn-pools";
        fake.CreateTopic(topic, 2);
        for (int b = 0; b < 6; b++)
        {
            fake.Append(topic, 0, ConsumerTestSupport.Batch(20, CompressionType.Lz4));
            fake.Append(topic, 1, ConsumerTestSupport.Batch(20, b % 2 == 0 ? CompressionType.Zstd : CompressionType.None));
        }

        var p0 = new TopicPartition(topic, 0);
        var p1 = new TopicPartition(topic, 1);
        var decompression = new CountingDecompressionPool();
        var records = new CountingRecordPool();
        var slices = new CountingSlicePool();
        var responses = new CountingFetchResponsePool();
        var pools = new ConsumerPools(decompression, records, slices, responses);
        ConsumedRecord kept;
        await using (var consumer = new KafkaConsumer(ConsumerTestSupport.Options(fake.BootstrapServers, o =>
        {
            o.Pools = pools;
            o.MaxPollRecords = 7;
            o.MaxPartitionFetchBytes = 600;
        })))
        {
            var typed = new KafkaConsumer<byte[]?, byte[]?>(consumer, Deserializers.ByteArray, Deserializers.ByteArray);
            consumer.Assign([new TopicPartitionOffset(p0, 0), new TopicPartitionOffset(p1, 0)]);
            Assert.Equal(3, (await ConsumerTestSupport.ReadRawAsync(consumer, 3, TimeSpan.FromSeconds(10), ct)).Count);
            consumer.Seek(p0, 5);
            Assert.Equal(10, (await ConsumerTestSupport.ReadAsync(typed, 10, TimeSpan.FromSeconds(10), ct)).Count);
            using (var batch = await consumer.ConsumeBatchAsync(ct))
            {
                kept = batch.Records[0]; // recycled by the batch's disposal: reading it after must throw
            }

            Assert.Throws<ObjectDisposedException>(() => kept.Value);
            consumer.Pause([p1]);
            Assert.Equal(4, (await ConsumerTestSupport.ReadRawAsync(consumer, 4, TimeSpan.FromSeconds(10), ct)).Count);
            consumer.Resume([p1]);
            consumer.Unassign();
            consumer.Assign([new TopicPartitionOffset(p1, 40)]);
            Assert.Equal(2, (await ConsumerTestSupport.ReadAsync(typed, 2, TimeSpan.FromSeconds(10), ct)).Count);
            consumer.Assign([new TopicPartitionOffset(p0, 0), new TopicPartitionOffset(p1, 0)]);
            await Eventually.TrueAsync(() => consumer.Fetcher.BufferedBytes > 0, TimeSpan.FromSeconds(10), "data fetched ahead", ct);
        }


        await AssertAllReturnedAsync(decompression, records, slices, responses, ct);
    }

    /// <summary>Everything rented came back. Buffers come back on whichever thread releases them last: waits for that, with a deadline.</summary>
    private static async Task AssertAllReturnedAsync(CountingDecompressionPool decompression, CountingRecordPool records, CountingSlicePool slices,
        CountingFetchResponsePool responses, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((decompression.Outstanding | records.Outstanding | slices.Outstanding | responses.Outstanding) != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, cancellationToken);
        }

        Assert.Equal(0, decompression.Outstanding);
        Assert.Equal(0, records.Outstanding);
        Assert.Equal(0, slices.Outstanding);
        Assert.Equal(0, responses.Outstanding);
    }

    /// <summary>Counts what is out by identity, and fails on anything returned twice or never rented.</summary>
    private sealed class Tracker<T>
        where T : class
    {
        private readonly ConcurrentDictionary<T, byte> _out = new(ReferenceEqualityComparer.Instance);
        private int _rents;

        public int Rents => Volatile.Read(ref _rents);

        public int Outstanding => _out.Count;

        public T Rented(T item)
        {
            Interlocked.Increment(ref _rents);
            Assert.True(_out.TryAdd(item, 0), "an item was handed out twice");
            return item;
        }

        public void Returned(T item) => Assert.True(_out.TryRemove(item, out _), "an item was returned twice, or was never rented");
    }

    private sealed class CountingDecompressionPool : IDecompressionBufferPool
    {
        private readonly Tracker<byte[]> _tracker = new();

        public int Rents => _tracker.Rents;

        public int Outstanding => _tracker.Outstanding;

        public byte[] Rent(int compressedSize, CompressionType codec) => _tracker.Rented(new byte[compressedSize * 2]);

        public byte[] Grow(byte[] buffer, int usedLength, int minimumLength)
        {
            _tracker.Returned(buffer);
            var larger = new byte[minimumLength];
            buffer.AsSpan(0, usedLength).CopyTo(larger);
            return _tracker.Rented(larger);
        }

        public void Return(byte[] buffer) => _tracker.Returned(buffer);
    }

    private sealed class CountingRecordPool : IRecordPool
    {
        private readonly Tracker<PooledRecord> _tracker = new();

        public int Rents => _tracker.Rents;

        public int Outstanding => _tracker.Outstanding;

        public void Rent(Span<PooledRecord> destination)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = _tracker.Rented(new PooledRecord());
            }
        }

        public void Return(ReadOnlySpan<PooledRecord> records)
        {
            foreach (var record in records)
            {
                Assert.False(record.IsInUse, "a record object came back while still in use");
                _tracker.Returned(record);
            }
        }
    }

    private sealed class CountingSlicePool : IRecordSlicePool
    {
        private readonly Tracker<ConsumedRecord[]> _tracker = new();

        public int Rents => _tracker.Rents;

        public int Outstanding => _tracker.Outstanding;

        public ConsumedRecord[] Rent(int minimumLength) => _tracker.Rented(new ConsumedRecord[minimumLength]);

        public void Return(ConsumedRecord[] array) => _tracker.Returned(array);
    }

    private sealed class CountingFetchResponsePool : IFetchResponsePool
    {
        private readonly Tracker<byte[]> _tracker = new();

        public int Rents => _tracker.Rents;

        public int Outstanding => _tracker.Outstanding;

        public byte[] Rent(int length) => _tracker.Rented(new byte[length]);

        public void Return(byte[] buffer) => _tracker.Returned(buffer);
    }
}
