using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>
/// A reply partition the reply consumer could not read is read again where it stood, not skipped: nothing was read at
/// the failing offset, so skipping would lose a reply (or, with no position yet, read the whole topic from its start).
/// </summary>
public sealed class ReplyConsumerErrorTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index, string Text);

    [Fact(Timeout = 90_000)]
    public async Task A_reply_partition_whose_start_lookup_was_refused_starts_at_its_end_after_a_retry_not_at_offset_zero()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        var replies = TestBrokerFixture.UniqueTopicName("rpc-replies");
        await broker.CreateTopicAsync(requests, 2, 1, ct);
        await broker.CreateTopicAsync(replies, 2, 1, ct);

        // Replies to calls of an earlier client instance, already on the partition this client will read.
        await using (var earlier = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Linger = TimeSpan.Zero }))
        {
            for (var i = 0; i < 5; i++)
            {
                RecordHeader[] headers = [new("kafka_correlationId", Guid.NewGuid().ToByteArray())];
                await earlier.ProduceAsync(replies, null, "old"u8.ToArray(), headers, partition: 0, cancellationToken: ct);
            }
        }

        // The reply consumer's lookup of the partition's end is refused once, with an error retrying the same request
        // does not fix (the consumer holds the partition and reports it).
        broker.Faults!.PushRequestErrors(ApiKey.ListOffsets, ErrorCode.TopicAuthorizationFailed);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.ReplyPartition = 0));
        await client.StartAsync(ct);

        await using var replier = TestReplier.Start(broker.BootstrapServers, requests, 2);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(new Ping(i, "x"), await client.CallAsync<Ping, Ping>(requests, "echo", new Ping(i, "x"), default, ct));
        }

        var statistics = client.Statistics;
        Assert.Equal(1, statistics.ConsumeErrors); // the refused lookup
        Assert.Equal(0, statistics.UnmatchedReplies); // the earlier client's replies were not read
    }
}
