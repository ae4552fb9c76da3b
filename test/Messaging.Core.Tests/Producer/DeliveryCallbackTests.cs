using Messaging.Core.Tests.Support;
using Messaging.Producer;
using Messaging.Records;

namespace Messaging.Core.Tests.Producer;

public sealed class DeliveryCallbackTests
{
    private static readonly ProducerLog Log = new(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    private readonly record struct Receipt(int Sequence, long Tag);

    [Fact]
    public void A_value_type_state_reaches_its_handler_with_each_records_outcome()
    {
        var partition = ProducerTestData.Partition("topic", 2);
        var batch = ProducerBatch.Rent(partition, new byte[4096], 4096, 0, long.MaxValue);
        var seen = new List<(long Offset, Receipt State, ProduceException? Error)>();
        DeliveryHandler<Receipt> handler = (in DeliveryResult r, ProduceException? e, Receipt s) => seen.Add((r.Offset, s, e));
        for (var i = 0; i < 3; i++)
        {
            batch.TryAppend(i, "k"u8, "v"u8, default, RecordNulls.None, DeliveryCallback<Receipt>.Rent(handler, new Receipt(i, i * 10L)), null, ProducerTestData.Pool);
        }

        batch.Complete(100, -1, Log);
        Assert.Equal([(100L, new Receipt(0, 0), (ProduceException?)null), (101L, new Receipt(1, 10), null), (102L, new Receipt(2, 20), null)], seen);
    }

    [Fact]
    public void A_handler_that_throws_is_logged_and_the_next_record_still_gets_its_outcome()
    {
        var partition = ProducerTestData.Partition("topic", 0);
        var batch = ProducerBatch.Rent(partition, new byte[4096], 4096, 0, long.MaxValue);
        var reached = 0;
        DeliveryHandler<int> handler = (in DeliveryResult _, ProduceException? _, int s) =>
        {
            reached++;
            if (s == 0)
            {
                throw new InvalidOperationException("the application's bug");
            }
        };
        batch.TryAppend(0, "k"u8, "v"u8, default, RecordNulls.None, DeliveryCallback<int>.Rent(handler, 0), null, ProducerTestData.Pool);
        batch.TryAppend(1, "k"u8, "v"u8, default, RecordNulls.None, DeliveryCallback<int>.Rent(handler, 1), null, ProducerTestData.Pool);
        batch.Fail(new ProduceException(ProduceErrorKind.DeliveryTimeout, ErrorCode.RequestTimedOut, new TopicPartition("topic", 0), "timed out", true), Log);
        Assert.Equal(2, reached);
    }

    [Fact]
    public void Renting_and_delivering_with_a_value_type_state_allocates_nothing_once_warm()
    {
        var result = new DeliveryResult("t", 0, 1, new Timestamp(1, TimestampType.CreateTime));
        long total = 0;
        DeliveryHandler<Receipt> handler = (in DeliveryResult r, ProduceException? _, Receipt s) => total += s.Tag + r.Offset;
        var bytes = Allocations.SteadyState(() => DeliveryCallback<Receipt>.Rent(handler, new Receipt(1, 2)).Deliver(in result, null), 10_000);
        Assert.Equal(0, bytes);
        Assert.True(total > 0);
    }
}
