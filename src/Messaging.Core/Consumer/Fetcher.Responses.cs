using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Messaging.Cluster;
using Messaging.Records;
using Messaging.Protocol.Messages;

namespace Messaging.Consumer;

/// <summary>The fetcher's handling of Fetch responses: data into the ready queue, partition errors into cursor state.</summary>
internal sealed partial class Fetcher
{
    /// <summary>
    /// Takes in a Fetch response for <paramref name="targets"/>: per partition, data is queued (holding a reference on
    /// <paramref name="frame"/>) and the cursor's fetch offset moves past it; errors move the cursor (reset, new
    /// leader, backoff, held). Every target stops being in flight.
    /// </summary>
    internal void CompleteFetch(BrokerFetcher broker, List<FetchTarget> targets, Dictionary<TopicPartition, int> index, FetchResponse response, SharedBuffer frame, short version)
    {
        bool refresh = false;
        long retryAt = Stopwatch.GetTimestamp() + ToStopwatchTicks(_options.RetryBackoff);
        lock (_lock)
        {
            foreach (var topic in response.Responses)
            {
                string? name = version >= 13 ? broker.TopicName(topic.TopicId) : topic.Topic;
                if (name is null)
                {
                    continue;
                }

                foreach (var data in topic.Partitions)
                {
                    if (!index.TryGetValue(new TopicPartition(name, data.PartitionIndex), out int i))
                    {
                        continue; // not asked for (a session partition we just forgot)
                    }

                    var target = targets[i];
                    var cursor = target.Cursor;
                    if (cursor.Generation != target.Generation || cursor.State != CursorState.Fetching)
                    {
                        continue; // sought, paused, reset or unassigned while the Fetch was out
                    }

                    if (data.HighWatermark >= 0)
                    {
                        cursor.HighWatermark = data.HighWatermark;
                    }

                    cursor.LastStableOffset = data.LastStableOffset;
                    cursor.LogStartOffset = data.LogStartOffset;
                    refresh |= Apply(target, data, frame, retryAt);
                }
            }

            foreach (var target in targets)
            {
                target.Cursor.InFlight = false;
            }
        }

        if (refresh)
        {
            RequestMetadataRefresh();
        }
    }

    /// <summary>The offset after the last complete entry of <paramref name="records"/> (at least <paramref name="fetchOffset"/>), reading headers only.</summary>
    internal static long ScanEndOffset(ReadOnlySpan<byte> records, long fetchOffset)
    {
        long end = fetchOffset;
        int position = 0;
        while (records.Length - position >= RecordBatchLayout.Magic + 1)
        {
            var entry = records.Slice(position);
            long baseOffset = BinaryPrimitives.ReadInt64BigEndian(entry.Slice(RecordBatchLayout.BaseOffset));
            int length = BinaryPrimitives.ReadInt32BigEndian(entry.Slice(RecordBatchLayout.BatchLength));
            if (length < RecordBatchLayout.LegacyMinSizeV0 || length > entry.Length - RecordBatchLayout.LogOverhead)
            {
                break; // partial (or corrupt: the decoder reports it)
            }

            byte magic = entry[RecordBatchLayout.Magic];
            long last;
            if (magic == 2)
            {
                if (length < RecordBatchLayout.MinBatchLength)
                {
                    break;
                }

                last = baseOffset + BinaryPrimitives.ReadInt32BigEndian(entry.Slice(RecordBatchLayout.LastOffsetDelta));
            }
            else if (magic <= 1)
            {
                last = baseOffset; // a legacy wrapper carries the offset of its last inner message
            }
            else
            {
                break;
            }

            if (last + 1 > end)
            {
                end = last + 1;
            }

            position += RecordBatchLayout.LogOverhead + length;
        }

        return end;
    }

    /// <summary>Applies one partition's answer (under the lock). Returns true when metadata should be refreshed.</summary>
    private bool Apply(FetchTarget target, FetchResponse.PartitionData data, SharedBuffer frame, long retryAt)
    {
        var cursor = target.Cursor;
        switch (data.ErrorCode)
        {
            case ErrorCode.None:
            {
                var records = data.Records ?? default;
                if (records.IsEmpty)
                {
                    return false;
                }

                long end = ScanEndOffset(records.Span, target.FetchOffset);
                bool progress = end > target.FetchOffset; // none: corrupt or truncated, which the consumer reports in order
                frame.AddReference();
                Enqueue(FetchedPartition.ForData(cursor, target.Generation, target.FetchOffset, records, frame, data.AbortedTransactions));
                if (progress)
                {
                    cursor.FetchOffset = end;
                }
                else
                {
                    // Nothing complete: corrupt or truncated. Stop fetching; the consumer reports it in order.
                    cursor.State = CursorState.Held;
                }

                return false;
            }

            case ErrorCode.OffsetOutOfRange:
                if (_options.AutoOffsetReset == AutoOffsetReset.Error)
                {
                    cursor.State = CursorState.Held;
                    EnqueueError(cursor, target.Generation, new ConsumeException(
                        "Offset " + target.FetchOffset.ToString(CultureInfo.InvariantCulture) + " is out of range for " + cursor.TopicPartition +
                        " (log start " + data.LogStartOffset.ToString(CultureInfo.InvariantCulture) + ", high watermark " + data.HighWatermark.ToString(CultureInfo.InvariantCulture) +
                        ") and auto.offset.reset is error. The partition is held: seek to continue.",
                        ConsumeErrorKind.OffsetOutOfRange, cursor.TopicPartition, target.FetchOffset, data.ErrorCode));
                }
                else
                {
                    Log.OffsetReset(cursor.TopicPartition, target.FetchOffset, _options.AutoOffsetReset);
                    cursor.BumpGeneration();
                    cursor.State = CursorState.Resetting;
                    cursor.PendingReset = _options.AutoOffsetReset == AutoOffsetReset.Earliest ? OffsetSpec.Earliest : OffsetSpec.Latest;
                    _maintenanceSignal.Set();
                }

                return false;

            case var code when ClusterClient.MeansStaleMetadata(code) || code is ErrorCode.KafkaStorageError or ErrorCode.ReplicaNotAvailable
                or ErrorCode.OffsetNotAvailable or ErrorCode.UnknownTopicId or ErrorCode.InconsistentTopicId:
                Log.LeaderError(cursor.TopicPartition, code, cursor.Leader);
                cursor.Leader = -1;
                cursor.RetryAt = retryAt;
                Interlocked.Increment(ref _leaderErrors);
                return true;

            case var code when ErrorCodes.IsRetriable(code):
                cursor.RetryAt = retryAt;
                return false;

            default:
                cursor.State = CursorState.Held;
                EnqueueError(cursor, target.Generation, new ConsumeException(
                    "Fetch for " + cursor.TopicPartition + " at offset " + target.FetchOffset.ToString(CultureInfo.InvariantCulture) + " failed: " +
                    ErrorCodes.Name(data.ErrorCode) + " (" + ErrorCodes.Description(data.ErrorCode) + "). The partition is held: seek to retry.",
                    ConsumeErrorKind.BrokerError, cursor.TopicPartition, target.FetchOffset, data.ErrorCode));
                return false;
        }
    }

    private void EnqueueError(PartitionCursor cursor, CursorGeneration generation, ConsumeException error) =>
        Enqueue(FetchedPartition.ForError(cursor, generation, error));
}
