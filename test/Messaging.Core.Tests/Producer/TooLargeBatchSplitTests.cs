using System.Collections.Concurrent;
using Messaging.IntegrationTests.Support;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A batch of several records the broker refuses as too large is split and sent again, as the Java client does
/// (<c>splitAndReenqueue</c>): its records are delivered in order, once each; only a record too large on its own fails.
/// </summary>
public sealed class TooLargeBatchSplitTests
{
    private const int Records = 10;

    [Theory(Timeout = 30_000)]
    [InlineData(ErrorCode.MessageTooLarge, false, CompressionType.None)]
    [InlineData(ErrorCode.RecordListTooLarge, false, CompressionType.None)]
    [InlineData(ErrorCode.MessageTooLarge, true, CompressionType.None)]
    [InlineData(ErrorCode.MessageTooLarge, true, CompressionType.Lz4)]
    [InlineData(ErrorCode.MessageTooLarge, false, CompressionType.Gzip)]
    public async Task A_batch_refused_as_too_large_is_split_and_every_record_is_delivered_in_order_once(ErrorCode refusal, bool idempotent, CompressionType compression)
    {
        var ct = TestContext.Current.CancellationToken;

        // The topic takes batches of at most three records (its max.message.bytes); the producer's one batch holds ten.
        await using var broker = new ScriptedProduceBroker { EnforceSequences = true, OnProduce = batch => batch.Count > 3 ? refusal : ErrorCode.None };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            EnableIdempotence = idempotent,
            MaxInFlightRequestsPerConnection = idempotent ? 5 : 1, // without idempotence only one in flight keeps a partition's order across retries
            CompressionType = compression,
            Linger = TimeSpan.FromMinutes(1), // the records gather in one batch until the flush
            SendWhenIdle = false,
        });

        // Delivery handlers run before their batch counts as done, so they show what a flush waited for.
        var delivered = new ConcurrentQueue<(int Index, long Offset, ProduceException? Error)>();
        for (var i = 0; i < Records; i++)
        {
            producer.Produce(ScriptedProduceBroker.Topic, new ProducerRecord { KeyIsNull = true, Value = Value(i), Partition = 0 },
                (in DeliveryResult result, ProduceException? error, object? state) => delivered.Enqueue(((int)state!, result.Offset, error)), i);
        }

        await producer.FlushAsync(ct);

        // The flush waited for the records of the batch it saw, wherever they went; each was reported once, delivered at its place.
        Assert.Equal(Enumerable.Range(0, Records).Select(i => (i, (long)i, (ProduceException?)null)), delivered.OrderBy(d => d.Index));
        Assert.Equal(Enumerable.Range(0, Records).Select(Value), broker.WrittenValues);
        Assert.Equal(Records, broker.Batches.First().Count); // the one batch went out whole first, and was refused
        if (idempotent)
        {
            // The split batches carry on the refused batch's sequences, which were never written.
            Assert.Equal(Enumerable.Range(0, Records), broker.Written.SelectMany(b => Enumerable.Range(b.BaseSequence, b.Count)));
        }

        await AllReleasedAsync(producer, ct);
    }

    [Fact(Timeout = 30_000)]
    public async Task Batches_in_flight_behind_a_refused_one_are_written_after_its_halves_in_sequence_order()
    {
        var ct = TestContext.Current.CancellationToken;

        // Small batches, several in flight at once; the broker refuses the first batch of several records as too large,
        // and answers the batches behind it OUT_OF_ORDER_SEQUENCE_NUMBER until the refused sequences are written.
        var refused = 0;
        await using var broker = new ScriptedProduceBroker
        {
            EnforceSequences = true,
            OnProduce = batch => batch.Count > 1 && Interlocked.Exchange(ref refused, 1) == 0 ? ErrorCode.MessageTooLarge : ErrorCode.None,
        };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            EnableIdempotence = true,
            BatchSize = 400,
            Linger = TimeSpan.FromMinutes(1), // the records gather in batches until the flush
            SendWhenIdle = false,
        });

        const int count = 40;
        var deliveries = new List<Task<DeliveryResult>>();
        for (var i = 0; i < count; i++)
        {
            deliveries.Add(producer.ProduceAsync(ScriptedProduceBroker.Topic, null, Value(i), partition: 0, cancellationToken: ct).AsTask());
            if (i == 0)
            {
                await producer.FlushAsync(ct); // the broker knows the producer from its first record on
            }
        }

        await producer.FlushAsync(ct);
        var results = await Task.WhenAll(deliveries);

        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), results.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, count).Select(Value), broker.WrittenValues);
        Assert.Equal(Enumerable.Range(0, count), broker.Written.SelectMany(b => Enumerable.Range(b.BaseSequence, b.Count)));
        await AllReleasedAsync(producer, ct);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_record_too_large_on_its_own_fails_as_too_large_and_the_records_around_it_are_delivered()
    {
        var ct = TestContext.Current.CancellationToken;

        // The topic takes batches of at most 1000 bytes: the third record alone is larger.
        await using var broker = new ScriptedProduceBroker { EnforceSequences = true, OnProduce = batch => batch.Size > 1000 ? ErrorCode.MessageTooLarge : ErrorCode.None };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            Linger = TimeSpan.FromMinutes(1), // the records gather in one batch until the flush
            SendWhenIdle = false,
        });

        var large = new byte[1500];
        var deliveries = new List<Task<DeliveryResult>>();
        for (var i = 0; i < 5; i++)
        {
            deliveries.Add(producer.ProduceAsync(ScriptedProduceBroker.Topic, null, i == 2 ? large : Value(i), partition: 0, cancellationToken: ct).AsTask());
        }

        await producer.FlushAsync(ct);

        var error = await Assert.ThrowsAsync<ProduceException>(() => deliveries[2]);
        Assert.Equal(ProduceErrorKind.RecordTooLarge, error.Kind);
        Assert.Equal(ErrorCode.MessageTooLarge, error.Code);
        var delivered = await Task.WhenAll(deliveries.Where((_, i) => i != 2));
        Assert.Equal([0L, 1, 2, 3], delivered.Select(r => r.Offset));
        Assert.Equal(new[] { 0, 1, 3, 4 }.Select(Value), broker.WrittenValues);
        await AllReleasedAsync(producer, ct);
    }

    /// <summary>Waits until every batch is released and the pool has every buffer it granted back (a batch is released just after its flush waiters are told).</summary>
    private static Task AllReleasedAsync(KafkaProducer producer, CancellationToken ct) =>
        Eventually.TrueAsync(() => producer.Core.Accumulator.IncompleteCount == 0 && producer.Core.Pool.InUse == 0, TimeSpan.FromSeconds(10),
            "every batch released and buffer.memory back to 0 in use", ct);

    private static byte[] Value(int i) => [.. "value-"u8, (byte)i, .. new byte[40]];
}
