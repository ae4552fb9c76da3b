using System.Text;
using System.Text.Json.Serialization;
using Messaging.IntegrationTests.Support;
using Messaging.Partitioners;
using Messaging.Testing;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Producer;

/// <summary>acks, typed errors, timeouts, the typed producer, partitioners and concurrent use.</summary>
public sealed class ProducerBehaviourTests(TestBrokerFixture fixture)
{
    [Theory(Timeout = 60_000)]
    [InlineData(Acks.None)]
    [InlineData(Acks.Leader)]
    [InlineData(Acks.All)]
    public async Task Every_acks_setting_delivers_and_acks_zero_reports_no_offset(Acks acks)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("acks");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        // With acks=0 a Kafka broker sends no response; librdkafka's mock answers every Produce anyway
        // (rdkafka_mock_handlers.c ignores Acks). Our connection treats an answer to a request that expects none as a
        // protocol violation and reconnects, so here the records go in one batch (one request) and are then read back.
        var offsets = new long[100];
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Acks = acks, Linger = TimeSpan.FromMilliseconds(50) }))
        {
            Assert.Equal(acks == Acks.All, producer.Core.Settings.Idempotent);
            for (var i = 0; i < 100; i++)
            {
                producer.Produce(topic, new ProducerRecord { KeyIsNull = true, Value = SequencedPayload.Create(i, 10) }, static (in Messaging.DeliveryResult r, ProduceException? e, object? s) =>
                {
                    var (array, index) = ((long[], int))s!;
                    array[index] = e is null ? r.Offset : -2;
                }, (offsets, i));
            }

            await producer.FlushAsync(ct);
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => acks == Acks.None ? -1L : i), offsets);
        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 100, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(Enumerable.Range(0, 100), records.Select(r => SequencedPayload.Read(r.Message.Value)));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_span_record_carries_its_headers_partition_timestamp_and_nulls()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("span-record");
        await broker.CreateTopicAsync(topic, 3, 1, ct);
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers }))
        {
            RecordHeader[] headers = [new("a", "1"u8.ToArray()), RecordHeader.WithNullValue("b")];
            producer.Produce(topic, new ProducerRecord
            {
                Key = "key"u8,
                ValueIsNull = true,
                Headers = headers,
                Partition = 2,
                Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_234_567_890_123),
            });
            producer.Produce(topic, new ProducerRecord { KeyIsNull = true, Value = "v"u8, Partition = 2 });
            await producer.FlushAsync(ct);
        }

        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 3, 2, TimeSpan.FromSeconds(30), ct);
        Assert.All(records, r => Assert.Equal(2, r.Partition.Value));
        Assert.Equal("key"u8.ToArray(), records[0].Message.Key);
        Assert.Null(records[0].Message.Value);
        Assert.Equal(1_234_567_890_123, records[0].Message.Timestamp.UnixTimestampMs);
        Assert.Equal("1"u8.ToArray(), records[0].Message.Headers.GetLastBytes("a"));
        Assert.Null(records[0].Message.Headers.GetLastBytes("b"));
        Assert.Null(records[1].Message.Key);
        Assert.Equal("v"u8.ToArray(), records[1].Message.Value);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_record_larger_than_max_request_size_fails_at_once_without_being_buffered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("too-large");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, MaxRequestSize = 100_000, BatchSize = 50_000 });
        await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);
        var error = await Assert.ThrowsAsync<ProduceException>(async () => await producer.ProduceAsync(topic, "k"u8.ToArray(), new byte[100_000], cancellationToken: ct));
        Assert.Equal(ProduceErrorKind.RecordTooLarge, error.Kind);
        Assert.Equal(ErrorCode.MessageTooLarge, error.Code);
        Assert.False(error.IsRetriable);
        Assert.Throws<ProduceException>(() => producer.Produce(topic, "k"u8, new byte[100_000]));

        // A record larger than batch.size but within max.request.size gets a batch of its own.
        var big = await producer.ProduceAsync(topic, "k"u8.ToArray(), new byte[80_000], cancellationToken: ct);
        Assert.Equal(1, big.Offset);
        Assert.Equal(0, producer.Core.Accumulator.IncompleteCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_topic_that_does_not_exist_fails_with_a_metadata_timeout_after_max_block()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            MaxBlock = TimeSpan.FromMilliseconds(800),
            AllowAutoCreateTopics = false,
        });
        // Connected first: max.block is for the metadata of the missing topic, not also for the connection's set-up,
        // which a loaded machine can stretch past it (the error would then carry no broker's answer).
        await producer.Core.Cluster.Metadata.RefreshAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ProduceException>(async () => await producer.ProduceAsync("no-such-topic-" + Guid.NewGuid().ToString("N"), "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct));
        Assert.Equal(ProduceErrorKind.MetadataTimeout, error.Kind);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, error.Code);
        Assert.True(error.IsRetriable);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(10));
    }

    [Fact(Timeout = 120_000)]
    public async Task Records_waiting_for_a_topic_that_never_appears_hold_up_no_other_topic()
    {
        // A wrong topic name waits for metadata up to MaxBlock; records for other topics produced after it (first
        // records of a new topic among them, which wait too) are appended and delivered meanwhile, in order per topic.
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var known = "known-" + Guid.NewGuid().ToString("N");
        await broker.CreateTopicAsync(known, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            MaxBlock = TimeSpan.FromSeconds(60),
            AllowAutoCreateTopics = false,
        });
        var missing = "no-such-topic-" + Guid.NewGuid().ToString("N");
        var lost = new[]
        {
            producer.ProduceAsync(missing, "k"u8.ToArray(), "1"u8.ToArray(), cancellationToken: ct).AsTask(),
            producer.ProduceAsync(missing, "k"u8.ToArray(), "2"u8.ToArray(), cancellationToken: ct).AsTask(),
        };
        var others = new List<Task<DeliveryResult>>();
        for (var i = 0; i < 20; i++)
        {
            others.Add(producer.ProduceAsync(known, "k"u8.ToArray(), Encoding.UTF8.GetBytes("v" + i), cancellationToken: ct).AsTask());
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var delivered = await Task.WhenAll(others).WaitAsync(TimeSpan.FromSeconds(30), ct);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));
        Assert.All(lost, t => Assert.False(t.IsCompleted)); // still waiting for their topic: nothing holds the others

        // Nor the synchronous path: it waits only behind records of its own topic.
        var sync = System.Diagnostics.Stopwatch.StartNew();
        producer.Produce(known, "k"u8, "sync"u8);
        Assert.True(sync.Elapsed < TimeSpan.FromSeconds(10), $"Produce took {sync.Elapsed}");
        for (var i = 1; i < delivered.Length; i++)
        {
            Assert.Equal(delivered[i - 1].Offset + 1, delivered[i].Offset); // call order within the topic
        }

        // The topic appears: the waiting records go out, in their order.
        await broker.CreateTopicAsync(missing, 1, 1, ct);
        var late = await Task.WhenAll(lost).WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.Equal(late[0].Offset + 1, late[1].Offset);
    }

    [Fact(Timeout = 60_000)]
    public async Task Records_that_cannot_reach_their_broker_fail_with_a_retriable_delivery_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("delivery-timeout");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            RequestTimeout = TimeSpan.FromMilliseconds(500),
            DeliveryTimeout = TimeSpan.FromMilliseconds(1500),
            Linger = TimeSpan.Zero,
        });
        await DeliverOneAsync(producer, topic, ct);
        broker.Faults!.SetBrokerDown(1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ProduceException>(async () => await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct));
        Assert.Equal(ProduceErrorKind.DeliveryTimeout, error.Kind);
        Assert.True(error.IsRetriable);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(1200), TimeSpan.FromSeconds(10));
        broker.Faults.SetBrokerUp(1);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_non_retriable_broker_error_fails_the_batch_with_its_code_and_later_records_still_go_through()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("fatal-batch");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        var log = new CollectingLogger();
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, LoggerFactory = log });
        await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);
        broker.Faults!.PushRequestErrors(ApiKey.Produce, ErrorCode.InvalidRecord);
        var error = await Assert.ThrowsAsync<ProduceException>(async () => await producer.ProduceAsync(topic, "k"u8.ToArray(), "rejected"u8.ToArray(), cancellationToken: ct));
        Assert.Equal(ProduceErrorKind.Broker, error.Kind);
        Assert.Equal(ErrorCode.InvalidRecord, error.Code);
        Assert.Equal("INVALID_RECORD", error.CodeName);
        Assert.False(error.IsRetriable);
        Assert.Equal(new Messaging.TopicPartition(topic, 0), error.TopicPartition);

        // The sequence gap it leaves is closed by an epoch bump; the next record is written.
        var next = await producer.ProduceAsync(topic, "k"u8.ToArray(), "accepted"u8.ToArray(), cancellationToken: ct);
        Assert.Equal(1, next.Offset);
        Assert.Equal(1, producer.Core.Idempotence.EpochBumps);
    }

    [Fact(Timeout = 60_000)]
    public async Task Retriable_errors_are_retried_until_the_record_is_written_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("retried");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, RetryBackoff = TimeSpan.FromMilliseconds(10) });
        await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);
        broker.Faults!.PushRequestErrors(ApiKey.Produce, ErrorCode.NotLeaderOrFollower, ErrorCode.RequestTimedOut, ErrorCode.NetworkException, ErrorCode.NotEnoughReplicas, ErrorCode.UnknownProducerId);
        var result = await producer.ProduceAsync(topic, "k"u8.ToArray(), "after five errors"u8.ToArray(), cancellationToken: ct);
        Assert.Equal(1, result.Offset);
        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 2, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, records.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_typed_producer_serializes_keys_and_values_and_a_null_value_is_a_tombstone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("typed");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using (var producer = new KafkaProducer<string, Order?>(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers },
            Serializers.Utf8, Serializers.Json(OrderJsonContext.Default.Order)!))
        {
            await producer.ProduceAsync(topic, "order-1", new Order(1, "book", 12.5m), cancellationToken: ct);
            producer.Produce(topic, "order-2", new Order(2, "pen", 1m));
            await producer.ProduceAsync(topic, new ProducerRecord<string, Order?>("order-1", null) { Headers = [new RecordHeader("deleted", "yes"u8.ToArray())] }, ct);
            await producer.FlushAsync(ct);
        }

        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 3, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(["order-1", "order-2", "order-1"], records.Select(r => Encoding.UTF8.GetString(r.Message.Key)));
        Assert.Equal("""{"id":1,"item":"book","price":12.5}""", Encoding.UTF8.GetString(records[0].Message.Value));
        Assert.Equal("""{"id":2,"item":"pen","price":1}""", Encoding.UTF8.GetString(records[1].Message.Value));
        Assert.Null(records[2].Message.Value);
        Assert.Equal("yes"u8.ToArray(), records[2].Message.Headers.GetLastBytes("deleted"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_custom_partitioner_and_an_explicit_partition_are_honoured()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("custom-partitioner");
        await broker.CreateTopicAsync(topic, 4, 1, ct);
        var partitioner = new LastPartition();
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, CustomPartitioner = partitioner });
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(3, (await producer.ProduceAsync(topic, Encoding.UTF8.GetBytes("k" + i), "v"u8.ToArray(), cancellationToken: ct)).Partition);
        }

        Assert.Equal(1, (await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), partition: 1, cancellationToken: ct)).Partition);
        Assert.Equal(20, partitioner.Calls);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), partition: 4, cancellationToken: ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task One_producer_shared_by_many_threads_delivers_everything_in_order_per_key()
    {
        const int Threads = 4;
        const int PerThread = 5000;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("shared");
        await broker.CreateTopicAsync(topic, 6, 3, ct);
        var failures = 0;
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, BatchSize = 8192 }))
        {
            var workers = Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
            {
                var key = Encoding.UTF8.GetBytes("thread-" + t);
                for (var i = 0; i < PerThread; i++)
                {
                    var sequence = (t * PerThread) + i;
                    if (i % 2 == 0)
                    {
                        producer.Produce(topic, key, SequencedPayload.Create(sequence, 12), static (in Messaging.DeliveryResult _, ProduceException? e, object? s) =>
                        {
                            if (e is not null)
                            {
                                Interlocked.Increment(ref ((int[])s!)[0]);
                            }
                        }, new[] { 0 });
                    }
                    else
                    {
                        _ = producer.ProduceAsync(topic, key, SequencedPayload.Create(sequence, 12), cancellationToken: ct).AsTask()
                            .ContinueWith(task => Interlocked.Add(ref failures, task.IsCompletedSuccessfully ? 0 : 1), TaskScheduler.Default);
                    }

                    if (i % 1000 == 0)
                    {
                        await Task.Yield();
                    }
                }
            }, ct)).ToArray();
            await Task.WhenAll(workers);
            await producer.FlushAsync(ct);
        }

        Assert.Equal(0, failures);
        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 6, Threads * PerThread, TimeSpan.FromSeconds(60), ct);
        Assert.Equal(Threads * PerThread, records.Count);
        foreach (var perKey in records.GroupBy(r => Encoding.UTF8.GetString(r.Message.Key)))
        {
            var sequences = perKey.OrderBy(r => r.Offset.Value).Select(r => SequencedPayload.Read(r.Message.Value)).ToList();
            Assert.Equal(sequences.Order(), sequences);
            Assert.Equal(PerThread, sequences.Count);
            Assert.Single(perKey.Select(r => r.Partition.Value).Distinct());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task The_embedded_broker_reports_log_append_time_1234_on_every_produce_and_it_is_passed_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("log-append-time");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers });
        var result = await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1_600_000_000_000), cancellationToken: ct);

        // librdkafka's mock answers every successful Produce with LogAppendTimeMs = 1234 (rdkafka_mock_handlers.c),
        // which a Kafka broker sends only for topics with message.timestamp.type=LogAppendTime (-1 otherwise). Like
        // the Java client and librdkafka we report the broker's log-append time when it gives one; the record itself
        // keeps its create time (the interop tests read it back).
        Assert.Equal(new Timestamp(1234, TimestampType.LogAppendTime), result.Timestamp);
    }

    [Fact(Timeout = 30_000)]
    public async Task Cancelling_the_wait_stops_waiting_but_the_buffered_record_is_still_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("cancel");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Linger = TimeSpan.FromSeconds(5), SendWhenIdle = false });
        producer.Produce(topic, "k"u8, "v"u8);
        await producer.FlushAsync(ct);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await producer.ProduceAsync(topic, "k"u8.ToArray(), "lingering"u8.ToArray(), cancellationToken: cancel.Token));
        await producer.FlushAsync(ct);
        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 2, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, records.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_batch_started_while_a_request_is_in_flight_goes_out_at_its_linger_not_after_the_response()
    {
        // The new batch does not wake the sender when it opens (a request is in flight); it only bounds the sender's
        // wait by its linger. With a 2 s round trip and a 50 ms linger, the second record's request must reach the
        // broker while the first is still unanswered — as a second request in flight — not after the first's answer.
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(1);
        var topic = TestBrokerFixture.UniqueTopicName("linger-in-flight");
        cluster.CreateTopic(topic, 1, 1);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers, Linger = TimeSpan.FromMilliseconds(50), Acks = Acks.Leader });
        await producer.ProduceAsync(topic, "k"u8.ToArray(), "warm"u8.ToArray(), cancellationToken: ct); // connected, metadata known
        cluster.SetBrokerRoundTripDelay(1, TimeSpan.FromSeconds(2));
        cluster.StartRequestTracking();

        var first = producer.ProduceAsync(topic, "k"u8.ToArray(), "first"u8.ToArray(), cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => ProduceRequests(cluster) == 1, TimeSpan.FromSeconds(10), "the first record's request did not reach the broker", ct);
        var second = producer.ProduceAsync(topic, "k"u8.ToArray(), "second"u8.ToArray(), cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => ProduceRequests(cluster) == 2 || first.IsCompleted, TimeSpan.FromSeconds(10), "the second record's request never went out", ct);

        Assert.False(first.IsCompleted, "the second record's request went out only after the first was answered");
        Assert.Equal(2, ProduceRequests(cluster));
        await Task.WhenAll(first, second);
        Assert.True(first.Result.Offset < second.Result.Offset);

        static int ProduceRequests(EmbeddedKafkaCluster cluster) => cluster.GetTrackedRequests().Count(r => r.ApiKey == ApiKey.Produce);
    }

    /// <summary>
    /// Delivers one record, sending it again while it fails retriably: the producer's short timeouts are for the fault
    /// that follows, and on a loaded machine its set-up (connection, metadata, producer id) can outlast them.
    /// </summary>
    internal static async Task DeliverOneAsync(KafkaProducer producer, string topic, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await producer.ProduceAsync(topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);
                return;
            }
            catch (ProduceException e) when (e.IsRetriable && DateTime.UtcNow < deadline)
            {
            }
        }
    }

    private sealed class LastPartition : IPartitioner
    {
        public int Calls;

        public int Partition(string topic, ReadOnlySpan<byte> key, bool keyIsNull, int partitionCount)
        {
            Interlocked.Increment(ref Calls);
            return partitionCount - 1;
        }
    }
}

public sealed record Order(int Id, string Item, decimal Price);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Order))]
internal sealed partial class OrderJsonContext : JsonSerializerContext
{
}
