using System.Reflection;
using Messaging.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Records;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Assignment, start positions (earliest, latest, offset, timestamp), seek, pause/resume, position and auto.offset.reset.</summary>
public sealed class ConsumerPositionTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Latest_reads_only_new_records_and_seek_goes_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("latest");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 10, 20, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Latest)]);
        await WaitForPositionAsync(consumer, partition, 10, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 5, 20, cancellationToken: ct);
        var fresh = await ConsumerTestSupport.ReadAsync(consumer, 5, TimeSpan.FromSeconds(10), ct);
        Assert.Equal([10L, 11, 12, 13, 14], fresh.Select(r => r.Offset));
        Assert.Equal(15, consumer.Position(partition));

        consumer.Seek(partition, 3);
        Assert.Equal(3, consumer.Position(partition));
        var again = await ConsumerTestSupport.ReadAsync(consumer, 4, TimeSpan.FromSeconds(10), ct);
        Assert.Equal([3L, 4, 5, 6], again.Select(r => r.Offset));
        Assert.Equal(7, consumer.Position(partition));

        consumer.Seek(partition, OffsetSpec.Earliest);
        var first = await ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(0, first.Single().Offset);
    }

    [Fact(Timeout = 60_000)]
    public async Task Paused_partitions_deliver_nothing_and_resume_where_they_stopped()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("pause");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 2, 400, 20, cancellationToken: ct);
        var p0 = new TopicPartition(topic, 0);
        var p1 = new TopicPartition(topic, 1);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.MaxPollRecords = 10));
        consumer.Assign(ConsumerTestSupport.All(topic, 2, OffsetSpec.Earliest));
        var before = await ConsumerTestSupport.ReadAsync(consumer, 50, TimeSpan.FromSeconds(10), ct);
        consumer.Pause([p0]);
        Assert.Equal([p0], consumer.PausedPartitions);
        long paused = consumer.Position(p0)!.Value;
        var during = await ConsumerTestSupport.ReadAsync(consumer, 400, TimeSpan.FromSeconds(2), ct);
        Assert.DoesNotContain(during, r => r.Partition == 0);
        Assert.Equal(paused, consumer.Position(p0));
        consumer.Resume([p0]);
        var after = await ConsumerTestSupport.ReadAsync(consumer, 400 - before.Count - during.Count, TimeSpan.FromSeconds(10), ct);

        var all = before.Concat(during).Concat(after).ToList();
        foreach (var partition in new[] { 0, 1 })
        {
            Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), all.Where(r => r.Partition == partition).Select(r => r.Offset));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Pause_and_resume_naming_a_partition_not_assigned_throw_and_change_none_of_the_others()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("pause-some");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        var p0 = new TopicPartition(topic, 0);
        var p1 = new TopicPartition(topic, 1);
        var stranger = new TopicPartition(topic + "-other", 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(topic, 2, OffsetSpec.Earliest));

        Assert.Throws<ArgumentException>(() => consumer.Pause([p0, stranger, p1]));
        Assert.Empty(consumer.PausedPartitions);

        consumer.Pause([p0, p1]);
        Assert.Throws<ArgumentException>(() => consumer.Resume([p0, stranger]));
        Assert.Equal([p0, p1], consumer.PausedPartitions.OrderBy(p => p.Partition));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(AutoOffsetReset.Earliest)]
    [InlineData(AutoOffsetReset.Latest)]
    [InlineData(AutoOffsetReset.Error)]
    public async Task An_out_of_range_position_follows_auto_offset_reset(AutoOffsetReset reset)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("oor");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 10, 20, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.AutoOffsetReset = reset));
        consumer.Assign([new TopicPartitionOffset(partition, 1_000)]);
        switch (reset)
        {
            case AutoOffsetReset.Earliest:
                Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), (await ConsumerTestSupport.ReadAsync(consumer, 10, TimeSpan.FromSeconds(10), ct)).Select(r => r.Offset));
                break;
            case AutoOffsetReset.Latest:
                await WaitForPositionAsync(consumer, partition, 10, ct);
                await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 2, 20, cancellationToken: ct);
                Assert.Equal([10L, 11], (await ConsumerTestSupport.ReadAsync(consumer, 2, TimeSpan.FromSeconds(10), ct)).Select(r => r.Offset));
                break;
            default:
                var error = await Assert.ThrowsAsync<ConsumeException>(() => ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromSeconds(10), ct));
                Assert.Equal(ConsumeErrorKind.OffsetOutOfRange, error.Kind);
                Assert.Equal(partition, error.TopicPartition);
                Assert.Equal(1_000, error.Offset);
                Assert.Equal(ErrorCode.OffsetOutOfRange, error.ErrorCode);
                Assert.Equal(1_000, consumer.Position(partition));
                consumer.Seek(partition, 8);
                Assert.Equal([8L, 9], (await ConsumerTestSupport.ReadAsync(consumer, 2, TimeSpan.FromSeconds(10), ct)).Select(r => r.Offset));
                break;
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_timestamp_start_reads_from_the_first_record_at_or_after_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        var topic = "timestamps";
        fake.CreateTopic(topic, 1);
        for (int b = 0; b < 4; b++)
        {
            using var builder = new RecordBatchBuilder();
            for (int i = 0; i < 5; i++)
            {
                builder.Append(1_000_000 + (b * 5 + i) * 100, default, System.Text.Encoding.UTF8.GetBytes("v" + (b * 5 + i)));
            }

            fake.Append(topic, 0, builder.Build().ToArray());
        }

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(topic, 0, OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000 + 1_150)))]);
        var read = await ConsumerTestSupport.ReadAsync(consumer, 8, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(Enumerable.Range(12, 8).Select(i => (long)i), read.Select(r => r.Offset)); // 1,001,200 is the first at or after 1,001,150

        consumer.Seek(new TopicPartition(topic, 0), OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(9_000_000)));
        await WaitForPositionAsync(consumer, new TopicPartition(topic, 0), 20, ct); // after the last record: the end
    }

    [Fact(Timeout = 60_000)]
    public async Task A_start_lookup_refused_by_a_moved_leader_is_retried_until_it_starts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("lookup-retry");
        await broker.CreateTopicAsync(topic, 1, 3, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 6, 20, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);
        broker.Faults!.PushRequestErrors(ApiKey.ListOffsets, ErrorCode.NotLeaderOrFollower, ErrorCode.NotLeaderOrFollower, ErrorCode.FencedLeaderEpoch);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.RetryBackoff = TimeSpan.FromMilliseconds(20)));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Latest)]);

        await WaitForPositionAsync(consumer, partition, 6, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_start_lookup_refused_for_good_holds_the_partition_with_a_typed_error_until_a_seek()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("lookup-denied");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 3, 20, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);
        broker.Faults!.PushRequestErrors(ApiKey.ListOffsets, ErrorCode.TopicAuthorizationFailed);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var error = await Assert.ThrowsAsync<ConsumeException>(async () =>
        {
            await foreach (var record in consumer.ConsumeAsync(timeout.Token))
            {
                Assert.Fail("read offset " + record.Offset + " although the start could not be looked up");
            }
        });

        Assert.Equal(ConsumeErrorKind.BrokerError, error.Kind);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, error.ErrorCode);
        Assert.Equal(partition, error.TopicPartition);
        Assert.Null(consumer.Position(partition));

        consumer.Seek(partition, OffsetSpec.Earliest);
        var read = await ConsumerTestSupport.ReadAsync(consumer, 3, TimeSpan.FromSeconds(10), ct);
        Assert.Equal([0L, 1, 2], read.Select(r => r.Offset));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_seek_to_an_offset_while_the_start_lookup_is_out_is_fetched_once_the_lookup_answers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("seek-lookup");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 10, 20, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);
        var faults = broker.Faults!;
        faults.StartRequestTracking();
        faults.PushBrokerRequestErrors(1, ApiKey.ListOffsets, (ErrorCode.None, TimeSpan.FromSeconds(1))); // the start lookup is answered late

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        await Eventually.TrueAsync(() => faults.GetTrackedRequests().Any(r => r.ApiKey == ApiKey.ListOffsets), TimeSpan.FromSeconds(10), "the start lookup sent", ct);
        consumer.Seek(partition, 5);

        var read = await ConsumerTestSupport.ReadAsync(consumer, 5, TimeSpan.FromSeconds(10), ct);
        Assert.Equal([5L, 6, 7, 8, 9], read.Select(r => r.Offset));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_read_stopped_inside_a_slice_goes_on_from_the_next_record(bool raw)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        var topic = "stop-inside";
        fake.CreateTopic(topic, 1);
        fake.Append(topic, 0, ConsumerTestSupport.Batch(30));
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(partition, 0)]);
        async Task<List<long>> ReadAsync(TimeSpan timeout) => raw
            ? await ConsumerTestSupport.ReadRawAsync(consumer.Consumer, 5, timeout, ct)
            : [.. (await ConsumerTestSupport.ReadAsync(consumer, 5, timeout, ct)).Select(r => r.Offset)];

        Assert.Equal([0L, 1, 2, 3, 4], await ReadAsync(TimeSpan.FromSeconds(10))); // one slice of 30; stops after 5
        Assert.Equal(5, consumer.Position(partition));
        Assert.Equal([5L, 6, 7, 8, 9], await ReadAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(10, consumer.Position(partition));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_topic_the_metadata_refuses_holds_its_partitions_with_a_typed_error_until_a_seek()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        var topic = "refused";
        fake.CreateTopic(topic, 1);
        fake.Append(topic, 0, ConsumerTestSupport.Batch(3));
        fake.RefuseTopic(topic, ErrorCode.TopicAuthorizationFailed);
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(partition, 0)]);
        var error = await Assert.ThrowsAsync<ConsumeException>(() => ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromSeconds(10), ct));
        Assert.Equal(ConsumeErrorKind.BrokerError, error.Kind);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, error.ErrorCode);
        Assert.Equal(partition, error.TopicPartition);
        Assert.Equal(0, consumer.Position(partition));

        fake.RefuseTopic(topic, ErrorCode.None); // the rights were granted
        consumer.Seek(partition, 0);
        Assert.Equal([0L, 1, 2], (await ConsumerTestSupport.ReadAsync(consumer, 3, TimeSpan.FromSeconds(10), ct)).Select(r => r.Offset));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_topic_refused_while_read_holds_the_partition_after_the_records_fetched_before()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        var topic = "refused-later";
        fake.CreateTopic(topic, 1);
        fake.Append(topic, 0, ConsumerTestSupport.Batch(10));
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers, o => o.MetadataMaxAge = TimeSpan.FromMilliseconds(200)));
        consumer.Assign([new TopicPartitionOffset(partition, 0)]);
        await Eventually.TrueAsync(() => consumer.Fetcher.BufferedBytes > 0, TimeSpan.FromSeconds(10), "the records fetched", ct);
        fake.RefuseTopic(topic, ErrorCode.TopicAuthorizationFailed); // seen by the next periodic metadata refresh
        var cursors = (PartitionCursors)typeof(Fetcher).GetField("_cursors", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        await Eventually.TrueAsync(() => cursors.All[0].State == CursorState.Held, TimeSpan.FromSeconds(10), "the partition held", ct);

        var read = new List<long>();
        var error = await Assert.ThrowsAsync<ConsumeException>(async () =>
        {
            await foreach (var record in consumer.ConsumeAsync(ct))
            {
                read.Add(record.Offset);
            }
        });
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), read); // what was fetched before comes first
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, error.ErrorCode);
        Assert.Equal(10, error.Offset);
        Assert.Equal(10, consumer.Position(partition));
    }

    private static async Task WaitForPositionAsync<TKey, TValue>(KafkaConsumer<TKey, TValue> consumer, TopicPartition partition, long expected, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (consumer.Position(partition) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, "position " + consumer.Position(partition) + ", expected " + expected);
            await Task.Delay(10, cancellationToken);
        }
    }
}
