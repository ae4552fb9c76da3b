using System.Globalization;
using System.Text;

namespace Messaging.Producer;

/// <summary>A readable dump of the producer's state, for diagnosing a stall (tests and logs).</summary>
internal sealed partial class ProducerCore
{
    public string DescribeState()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.Append(inv, $"pool: in use {Pool.InUse}, held {Pool.Held}, waiters {Pool.HasWaiters}; incomplete batches {Accumulator.IncompleteCount}; send immediately {Accumulator.SendImmediately}; producer id {Idempotence.Current}; closed {Accumulator.IsClosed}").AppendLine();
        foreach (var sender in Senders.All)
        {
            text.Append(inv, $"sender {sender.NodeId}: in flight {sender.InFlight}, {sender.Partitions.Length} partition(s)").AppendLine();
        }

        foreach (var topic in Accumulator.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                lock (partition.Sync)
                {
                    var first = partition.Queue.PeekFirst();
                    var s = partition.Sequences;
                    text.Append(inv, $"  {partition.TopicPartition}: leader {partition.Leader} sender {partition.Sender?.NodeId} in flight {partition.InFlight} via {partition.InFlightSender?.NodeId}; open {(partition.Open is null ? "-" : partition.Open.Count.ToString(inv))}; queued {partition.Queue.Count}")
                        .Append(inv, $" first: seq {first?.BaseSequence} attempts {first?.Attempts} retry in {(first is null ? 0 : (long)Settings.Clock.Until(first.RetryAtTicks).TotalMilliseconds)} ms")
                        .Append(inv, $"; sequences {s.ProducerIdAndEpoch} next {s.NextSequence} acked {s.LastAckedSequence} unacked {s.Unacked.Count} first unacked {s.FirstUnackedSequence} unresolved {s.UnresolvedNextSequence} rewrite {s.RewritePending}")
                        .AppendLine();
                }
            }
        }

        return text.ToString();
    }
}
