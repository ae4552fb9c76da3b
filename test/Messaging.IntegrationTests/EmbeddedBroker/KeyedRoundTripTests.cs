using System.Text;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.EmbeddedBroker;

// Confluent.Kafka is this file's peer client: its type names (ConsumeResult, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>The broker stores and serves data faithfully: 10,000 keyed records through 3 brokers and 6 partitions.</summary>
public sealed class KeyedRoundTripTests(TestBrokerFixture fixture)
{
    private const int Records = 10_000;
    private const int Partitions = 6;

    [Fact(Timeout = 120_000)]
    public async Task Ten_thousand_keyed_records_come_back_intact_and_in_partition_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("keyed");
        await broker.CreateTopicAsync(topic, Partitions, replicationFactor: 3, ct);

        var delivered = new DeliveryResult<byte[], byte[]>?[Records];
        var failures = 0;
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers))
        {
            for (var i = 0; i < Records; i++)
            {
                var sequence = i;
                producer.Produce(topic, Message(i), report =>
                {
                    if (report.Error.IsError)
                    {
                        Interlocked.Increment(ref failures);
                    }
                    else
                    {
                        delivered[sequence] = report;
                    }
                });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        Assert.Equal(0, failures);
        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, Partitions, Records, TimeSpan.FromSeconds(60), ct);
        Assert.Equal(Records, records.Count);

        var seen = new bool[Records];
        var lastSequenceInPartition = new int[Partitions];
        Array.Fill(lastSequenceInPartition, -1);
        var partitionOfKey = new Dictionary<string, int>();
        foreach (var record in records)
        {
            var sequence = SequencedPayload.Read(record.Message.Value);
            Assert.False(seen[sequence], $"record {sequence} was read twice");
            seen[sequence] = true;

            var expected = Message(sequence);
            Assert.Equal(expected.Key, record.Message.Key);
            AssertHeaders(expected.Headers, record.Message.Headers);

            // Where the broker acknowledged it is where it is.
            var report = delivered[sequence]!;
            Assert.Equal(report.Partition.Value, record.Partition.Value);
            Assert.Equal(report.Offset.Value, record.Offset.Value);

            // Per-partition order: one producer wrote in sequence order, so each partition reads back ascending.
            var partition = record.Partition.Value;
            Assert.True(sequence > lastSequenceInPartition[partition], $"partition {partition}: {sequence} after {lastSequenceInPartition[partition]}");
            lastSequenceInPartition[partition] = sequence;

            // A key always lands on one partition.
            var key = Encoding.UTF8.GetString(record.Message.Key);
            Assert.Equal(partition, partitionOfKey.TryGetValue(key, out var p) ? p : partitionOfKey[key] = partition);
        }

        Assert.DoesNotContain(false, seen);
        Assert.Equal(Partitions, partitionOfKey.Values.Distinct().Count());
    }

    private static Message<byte[], byte[]> Message(int sequence) => new()
    {
        Key = Encoding.UTF8.GetBytes("key-" + (sequence % 500)),
        Value = SequencedPayload.Create(sequence, 100),
        Headers = new Headers
        {
            { "sequence", BitConverter.GetBytes(sequence) },
            { "origin", "keyed-round-trip"u8.ToArray() },
            { "empty", [] },
            { "null", null },
        },
    };

    private static void AssertHeaders(Headers expected, Headers actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Key, actual[i].Key);
            Assert.Equal(expected[i].GetValueBytes(), actual[i].GetValueBytes());
        }
    }
}
