using Messaging.Cluster;
using Messaging.Compression;
using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Records;

namespace Messaging.IntegrationTests.Support;

/// <summary>One record batch as it sits in a partition's log, with the producer fields a broker checks for idempotence.</summary>
internal sealed record LoggedBatch(long BaseOffset, long ProducerId, short ProducerEpoch, int BaseSequence, IReadOnlyList<(long Offset, byte[]? Value)> Records)
{
    /// <summary>What a Kafka broker compares to drop a retried batch as DUPLICATE_SEQUENCE_NUMBER.</summary>
    public (long, short, int, int) Identity => (ProducerId, ProducerEpoch, BaseSequence, Records.Count);
}

/// <summary>
/// Reads a partition's log batch by batch with plain Fetch requests (v12, by topic name), so a test can see the
/// producer id, epoch and base sequence of every batch — which a consumer API does not show.
/// </summary>
internal static class RawLog
{
    public static async Task<List<LoggedBatch>> ReadAsync(string bootstrapServers, string topic, int partition, CancellationToken cancellationToken)
    {
        await using var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = bootstrapServers, ClientId = "raw-log" });
        var metadata = await client.Metadata.EnsureTopicsAsync([topic], cancellationToken);
        Assert.True(metadata.TryGetLeader(topic, partition, out var leader, out _), "no leader for " + topic + "/" + partition);
        var connection = await client.Connections.GetAsync(leader, cancellationToken);
        var batches = new List<LoggedBatch>();
        var buffer = new DecompressionBuffer(1024);
        long offset = 0;
        while (true)
        {
            var request = new FetchRequest
            {
                MaxWaitMs = 10,
                MinBytes = 0,
                MaxBytes = 8 * 1024 * 1024,
                SessionEpoch = -1,
                Topics =
                [
                    new FetchRequest.FetchTopic
                    {
                        Topic = topic,
                        Partitions = [new FetchRequest.FetchPartition { Partition = partition, FetchOffset = offset, PartitionMaxBytes = 8 * 1024 * 1024 }],
                    },
                ],
            };
            using var frame = await connection.SendAsync(request, 12, TimeSpan.FromSeconds(10), cancellationToken);
            var response = ResponseDecoder.Decode<FetchResponse>(frame, 12, ProtocolLimits.Default);
            var data = response.Responses[0].Partitions[0];
            Assert.Equal(ErrorCode.None, data.ErrorCode);
            Assert.True(data.LogStartOffset <= 0, $"the broker dropped the head of {topic}/{partition} (log start offset {data.LogStartOffset}): the test wrote too much");
            var reader = new RecordBatchReader(data.Records.GetValueOrDefault().ToArray());
            var progressed = false;
            while (reader.TryReadNext(out var batch))
            {
                var records = new List<(long, byte[]?)>();
                var rr = batch.GetRecords(buffer);
                while (rr.TryRead(out var view))
                {
                    if (view.Offset >= offset)
                    {
                        records.Add((view.Offset, view.IsValueNull ? null : view.Value.ToArray()));
                    }
                }

                if (batch.LastOffset >= offset)
                {
                    batches.Add(new LoggedBatch(batch.BaseOffset, batch.ProducerId, batch.ProducerEpoch, batch.BaseSequence, records));
                    offset = batch.LastOffset + 1;
                    progressed = true;
                }
            }

            if (offset >= data.HighWatermark)
            {
                return batches;
            }

            Assert.True(progressed, $"fetching {topic}/{partition} at {offset} returned nothing below the high watermark {data.HighWatermark}");
        }
    }
}
