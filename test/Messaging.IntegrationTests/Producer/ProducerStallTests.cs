using Messaging.Testing;

namespace Messaging.IntegrationTests.Producer;

/// <summary>
/// Regression: a flush once waited for a batch object that had been completed and recycled (it waited for the
/// object's next use), so a flush over many batches could hang. Many flushes over hundreds of thousands of records,
/// each with a stall detector that dumps the producer's state.
/// </summary>
public sealed class ProducerStallTests
{
    private static readonly DeliveryHandler Handler = static (in Messaging.DeliveryResult _, ProduceException? e, object? s) =>
        Interlocked.Increment(ref ((long[])s!)[e is null ? 0 : 1]);

    [Fact(Timeout = 300_000)]
    public async Task Flushes_over_many_batches_never_stall()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        cluster.CreateTopic("stall", 2, 1);
        var payload = new byte[100];
        for (var run = 0; run < 3; run++)
        {
            await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers, BatchSize = 64 * 1024 });
            var counts = new long[2];
            var expected = 0L;
            foreach (var (handler, n) in new[] { (false, 200_000), (true, 20_000), (true, 200_000) })
            {
                for (var i = 0; i < n; i++)
                {
                    if (handler)
                    {
                        producer.Produce("stall", new ProducerRecord { KeyIsNull = true, Value = payload }, Handler, counts);
                    }
                    else
                    {
                        producer.Produce("stall", new ProducerRecord { KeyIsNull = true, Value = payload });
                    }
                }

                expected += handler ? n : 0;
                var flush = producer.FlushAsync(ct);
                if (await Task.WhenAny(flush, Task.Delay(30_000, ct)) != flush)
                {
                    Assert.Fail($"run {run}: the flush stalled with {counts[0]} delivered and {counts[1]} failed{Environment.NewLine}{producer.Core.DescribeState()}");
                }

                Assert.Equal(expected, counts[0]);
                Assert.Equal(0, counts[1]);
                Assert.Equal(0, producer.Core.Accumulator.IncompleteCount);
            }
        }
    }
}
