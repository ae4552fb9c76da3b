namespace Messaging.IntegrationTests.Support;

/// <summary>What an idempotent producer left in a topic, read the way a Kafka broker would have kept it.</summary>
/// <param name="Seen">How often each record (by its <see cref="SequencedPayload"/> sequence) is in the log.</param>
/// <param name="DuplicateBatches">Batches the mock wrote twice (a Kafka broker answers DUPLICATE_SEQUENCE_NUMBER instead).</param>
/// <param name="OutOfSequenceBatches">Batches written after a sequence gap (a Kafka broker answers OUT_OF_ORDER_SEQUENCE_NUMBER instead).</param>
/// <param name="Inversions">Per partition, records that follow a record produced after them, in offset order.</param>
internal sealed record LogAudit(int[] Seen, int DuplicateBatches, int OutOfSequenceBatches, int[] Inversions)
{
    /// <summary>The first record that is not in the log exactly once, or -1.</summary>
    public int FirstNotExactlyOnce()
    {
        for (var i = 0; i < Seen.Length; i++)
        {
            if (Seen[i] != 1)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>
/// Reads every partition of a topic batch by batch (<see cref="RawLog"/>) and checks it as a Kafka broker enforcing
/// idempotence would have written it.
/// </summary>
/// <remarks>
/// librdkafka's mock checks producer ids and sequences only for transactional producers: for an idempotent producer it
/// writes every batch it is sent — a retry of a batch it already wrote, and a batch that follows a sequence gap. So
/// the audit drops batches whose producer id, epoch, base sequence and count equal an earlier one's (the broker's
/// DUPLICATE_SEQUENCE_NUMBER), and requires production order per producer id and epoch in base-sequence order (the
/// order a broker enforcing sequences writes them in). Offset-order inversions are counted, not asserted: with more
/// than one request in flight the mock writes batches after a gap that Kafka would have rejected and the client
/// would have retried in order.
/// </remarks>
internal static class IdempotentLogAudit
{
    public static async Task<LogAudit> ReadAsync(string bootstrapServers, string topic, int partitions, int records, CancellationToken cancellationToken)
    {
        var seen = new int[records];
        var duplicateBatches = 0;
        var outOfSequenceBatches = 0;
        var inversions = new int[partitions];
        for (var p = 0; p < partitions; p++)
        {
            var batches = await RawLog.ReadAsync(bootstrapServers, topic, p, cancellationToken);
            var written = new HashSet<(long, short, int, int)>();
            var kept = new List<LoggedBatch>();
            foreach (var batch in batches)
            {
                Assert.True(batch.ProducerId >= 0 && batch.BaseSequence >= 0, "an idempotent batch carries a producer id and a sequence");
                if (!written.Add(batch.Identity))
                {
                    duplicateBatches++;
                    continue;
                }

                kept.Add(batch);
            }

            foreach (var epoch in kept.GroupBy(b => (b.ProducerId, b.ProducerEpoch)))
            {
                var last = -1;
                var expectedSequence = epoch.Key.ProducerEpoch == kept[0].ProducerEpoch ? 0 : -1;
                foreach (var batch in epoch.OrderBy(b => b.BaseSequence))
                {
                    if (expectedSequence >= 0 && batch.BaseSequence != expectedSequence)
                    {
                        outOfSequenceBatches++;
                    }

                    expectedSequence = batch.BaseSequence + batch.Records.Count;
                    foreach (var (_, value) in batch.Records)
                    {
                        var sequence = SequencedPayload.Read(value!);
                        Assert.True(sequence > last, $"partition {p}, epoch {epoch.Key.ProducerEpoch}: record {sequence} has a higher sequence number than record {last}");
                        last = sequence;
                        seen[sequence]++;
                    }
                }
            }

            var previous = -1;
            foreach (var batch in kept)
            {
                foreach (var (_, value) in batch.Records)
                {
                    var sequence = SequencedPayload.Read(value!);
                    if (sequence < previous)
                    {
                        inversions[p]++;
                    }

                    previous = sequence;
                }
            }
        }

        return new LogAudit(seen, duplicateBatches, outOfSequenceBatches, inversions);
    }
}
