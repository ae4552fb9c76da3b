using System.Buffers.Binary;
using System.Globalization;
using Messaging.Cluster;
using Messaging.Protocol;
using Messaging.Records;
using Messaging.Protocol.Messages;
using Messaging.Threading;

namespace Messaging.Consumer;

/// <summary>
/// What the consumer makes of a Fetch's outcome: a response's data goes to the ready queue and moves the cursors'
/// fetch offsets; partition errors move cursors (reset, new leader, backoff, held); a Fetch that failed as a whole
/// sends its partitions into the backoff.
/// </summary>
/// <remarks>Called by the broker fetchers, one response at a time per broker; each call takes the cursors' lock once.</remarks>
internal sealed class FetchResponseHandler
{
    private readonly PartitionCursors _cursors;
    private readonly FetchBuffer _buffer;
    private readonly MaintenanceRequests _maintenance;
    private readonly KafkaConsumerOptions _options;
    private readonly ConsumerLog _log;
    private readonly Clock _clock;
    private readonly Action<int> _wakeBroker;
    private int _leaderErrors;
    private int _failedFetches;

    /// <param name="cursors">The cursors the answers move (under their lock).</param>
    /// <param name="buffer">Where data and errors the application must see are queued.</param>
    /// <param name="maintenance">Asked to refresh metadata (moved leaders) or to look up a reset position.</param>
    /// <param name="options">The retry backoff and the offset reset policy.</param>
    /// <param name="log">Where errors and resets are logged.</param>
    /// <param name="clock">The consumer's clock: backoffs count on it.</param>
    /// <param name="wakeBroker">Wakes (and starts) the fetcher of a broker a partition moved to; called under the cursors' lock.</param>
    public FetchResponseHandler(PartitionCursors cursors, FetchBuffer buffer, MaintenanceRequests maintenance, KafkaConsumerOptions options, ConsumerLog log, Clock clock,
        Action<int> wakeBroker)
    {
        _clock = clock;
        _wakeBroker = wakeBroker;
        _cursors = cursors;
        _buffer = buffer;
        _maintenance = maintenance;
        _options = options;
        _log = log;
    }

    /// <summary>Partition errors that sent the cursor back to metadata (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...), for tests and diagnostics.</summary>
    public int LeaderErrors => Volatile.Read(ref _leaderErrors);

    /// <summary>Fetches that failed as a whole (connection, timeout, top-level error), for tests and diagnostics.</summary>
    public int FailedFetches => Volatile.Read(ref _failedFetches);

    /// <summary>
    /// A Fetch failed as a whole (connection, timeout, top-level error): its partitions are retried after the backoff,
    /// or at once without <paramref name="backOff"/> (an incremental fetch session the broker refused).
    /// </summary>
    public void FailFetch(int node, List<FetchTarget> targets, Exception error, bool refreshMetadata, bool backOff = true)
    {
        Interlocked.Increment(ref _failedFetches);
        _log.FetchFailed(node, targets.Count, error.Message);
        _cursors.RetryAt(targets, backOff ? _clock.After(_options.RetryBackoff) : _clock.Now);
        lock (_cursors.Sync)
        {
            foreach (var target in targets)
            {
                var cursor = target.Cursor;
                if (cursor.ReadReplica == node)
                {
                    cursor.ReadReplica = -1; // the replica the leader named failed: back to the leader
                }

                WakeIfMoved(cursor, node);
            }
        }

        if (refreshMetadata)
        {
            _maintenance.RequestMetadataRefresh();
        }
    }

    /// <summary>The broker cannot serve Fetch at a version we speak: its partitions are held with that error.</summary>
    public void FailUnsupported(List<FetchTarget> targets, Exception error)
    {
        lock (_cursors.Sync)
        {
            foreach (var target in targets)
            {
                var cursor = target.Cursor;
                cursor.InFlight = false;
                if (cursor.Generation == target.Generation && cursor.State == CursorState.Fetching)
                {
                    cursor.State = CursorState.Held;
                    cursor.HoldQueued = true;
                    _buffer.EnqueueError(cursor, target.Generation, new ConsumeException(
                        "Fetching " + cursor.TopicPartition + " is impossible: " + error.Message + " The partition is held.",
                        ConsumeErrorKind.BrokerError, cursor.TopicPartition, target.FetchOffset, ErrorCode.UnsupportedVersion, error));
                }
            }
        }
    }

    /// <summary>
    /// Takes in a Fetch response for <paramref name="targets"/>: per partition, data is queued (holding a reference on
    /// <paramref name="frame"/>) and the cursor's fetch offset moves past it; errors move the cursor (reset, new
    /// leader, backoff, held). Every target stops being in flight.
    /// </summary>
    /// <remarks>
    /// <paramref name="topicNames"/> names the request's topics by id (Fetch v13+ answers by id). A leader that names
    /// a preferred read replica (KIP-392) sends no records: the partition is fetched from that replica from then on,
    /// until it runs out (<see cref="KafkaClientOptions.MetadataMaxAge"/>) or a Fetch there fails or errs.
    /// </remarks>
    public void CompleteFetch(int node, List<FetchTarget> targets, Dictionary<TopicPartition, int> index, Dictionary<Guid, string> topicNames, FetchResponse response, SharedBuffer frame, short version)
    {
        bool refresh = false;
        long now = _clock.Now;
        long retryAt = _clock.After(_options.RetryBackoff);
        lock (_cursors.Sync)
        {
            foreach (var topic in response.Responses)
            {
                string? name = version >= 13 ? (topicNames.TryGetValue(topic.TopicId, out var byId) ? byId : null) : topic.Topic;
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
                    if (data.PreferredReadReplica >= 0 && data.PreferredReadReplica != node)
                    {
                        cursor.ReadReplica = data.PreferredReadReplica;
                        cursor.ReadReplicaUntil = _clock.After(_options.MetadataMaxAge);
                        continue;
                    }

                    if (data.ErrorCode != ErrorCode.None && cursor.ReadReplica == node)
                    {
                        cursor.ReadReplica = -1; // back to the leader
                        if (data.ErrorCode == ErrorCode.OffsetOutOfRange)
                        {
                            continue; // a follower behind the leader: the leader decides whether the offset is out of range
                        }
                    }

                    refresh |= Apply(target, data, frame, retryAt);
                }
            }

            foreach (var target in targets)
            {
                var cursor = target.Cursor;
                cursor.InFlight = false;
                if (cursor.ReadReplica == node && now >= cursor.ReadReplicaUntil)
                {
                    cursor.ReadReplica = -1; // the leader names the replica to read from again
                }

                WakeIfMoved(cursor, node);
            }
        }

        if (refresh)
        {
            _maintenance.RequestMetadataRefresh();
        }
    }

    /// <summary>
    /// The offset after the last complete entry of <paramref name="records"/> (at least <paramref name="fetchOffset"/>),
    /// reading headers only; <paramref name="lastEpoch"/> is that entry's partition leader epoch (-1 for a legacy entry
    /// or when there is none).
    /// </summary>
    public static long ScanEndOffset(ReadOnlySpan<byte> records, long fetchOffset, out int lastEpoch)
    {
        long end = fetchOffset;
        lastEpoch = -1;
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
            int epoch;
            if (magic == 2)
            {
                if (length < RecordBatchLayout.MinBatchLength)
                {
                    break;
                }

                last = baseOffset + BinaryPrimitives.ReadInt32BigEndian(entry.Slice(RecordBatchLayout.LastOffsetDelta));
                epoch = BinaryPrimitives.ReadInt32BigEndian(entry.Slice(RecordBatchLayout.PartitionLeaderEpoch));
            }
            else if (magic <= 1)
            {
                last = baseOffset; // a legacy wrapper carries the offset of its last inner message
                epoch = -1;
            }
            else
            {
                break;
            }

            if (last + 1 > end)
            {
                end = last + 1;
                lastEpoch = epoch;
            }

            position += RecordBatchLayout.LogOverhead + length;
        }

        return end;
    }

    /// <summary>
    /// Wakes the fetcher of the broker a partition of a Fetch to <paramref name="node"/> is fetched from now, when that
    /// is another broker (a new leader routed while the Fetch was out, the read replica its leader named, the leader
    /// again): that fetcher skipped the partition while it was in flight here, and nothing else wakes it (under the lock).
    /// </summary>
    private void WakeIfMoved(PartitionCursor cursor, int node)
    {
        int fetchNode = cursor.FetchNode;
        if (fetchNode >= 0 && fetchNode != node && cursor.State == CursorState.Fetching)
        {
            _wakeBroker(fetchNode);
        }
    }

    /// <summary>Applies one partition's answer (under the lock). Returns true when metadata should be refreshed.</summary>
    private bool Apply(FetchTarget target, FetchResponse.PartitionData data, SharedBuffer frame, long retryAt)
    {
        var cursor = target.Cursor;
        switch (data.ErrorCode)
        {
            case ErrorCode.None:
            {
                if (data.HasDivergingEpoch)
                {
                    Diverged(target, data.DivergingEpoch);
                    return false;
                }

                var records = data.Records ?? default;
                if (records.IsEmpty)
                {
                    return false;
                }

                long end = ScanEndOffset(records.Span, target.FetchOffset, out int lastEpoch);
                bool progress = end > target.FetchOffset; // none: corrupt or truncated, which the consumer reports in order
                frame.AddReference();
                _buffer.Enqueue(FetchedPartition.ForData(cursor, target.Generation, target.FetchOffset, records, frame, data.AbortedTransactions));
                if (progress)
                {
                    cursor.FetchOffset = end;
                    cursor.LastFetchedEpoch = lastEpoch;
                }
                else
                {
                    // Nothing complete: corrupt or truncated. Stop fetching; the consumer reports it in order.
                    cursor.State = CursorState.Held;
                    cursor.HoldQueued = true;
                }

                return false;
            }

            case ErrorCode.OffsetOutOfRange:
                if (_options.AutoOffsetReset == AutoOffsetReset.Error)
                {
                    cursor.State = CursorState.Held;
                    cursor.HoldQueued = true;
                    _buffer.EnqueueError(cursor, target.Generation, new ConsumeException(
                        "Offset " + target.FetchOffset.ToString(CultureInfo.InvariantCulture) + " is out of range for " + cursor.TopicPartition +
                        " (log start " + data.LogStartOffset.ToString(CultureInfo.InvariantCulture) + ", high watermark " + data.HighWatermark.ToString(CultureInfo.InvariantCulture) +
                        ") and auto.offset.reset is error. The partition is held: seek to continue.",
                        ConsumeErrorKind.OffsetOutOfRange, cursor.TopicPartition, target.FetchOffset, data.ErrorCode));
                }
                else if (cursor.Position < target.FetchOffset)
                {
                    // Records fetched before this offset still wait for the application: they stay queued and are
                    // delivered. For the application's position the answer is stale (the Java client discards it too);
                    // the partition is fetched again after the backoff and resets once the application has caught up.
                    cursor.RetryAt = retryAt;
                }
                else
                {
                    _log.OffsetReset(cursor.TopicPartition, target.FetchOffset, _options.AutoOffsetReset);
                    cursor.BumpGeneration();
                    Reset(cursor);
                }

                return false;

            case var code when ClusterClient.MeansStaleMetadata(code) || code is ErrorCode.OffsetNotAvailable:
                _log.LeaderError(cursor.TopicPartition, code, cursor.Leader);
                cursor.Leader = -1;
                cursor.RetryAt = retryAt;
                Interlocked.Increment(ref _leaderErrors);
                return true;

            case var code when ErrorCodes.IsRetriable(code):
                cursor.RetryAt = retryAt;
                return false;

            case ErrorCode.UnknownServerError:
                // An unexpected failure on the broker, not an answer about the partition: fetched again after the
                // backoff, as the Java client does. Held, the partition would stop for good over a passing fault.
                _log.FetchRetried(cursor.TopicPartition, data.ErrorCode, target.FetchOffset);
                cursor.RetryAt = retryAt;
                return false;

            default:
                cursor.State = CursorState.Held;
                cursor.HoldQueued = true;
                _buffer.EnqueueError(cursor, target.Generation, new ConsumeException(
                    "Fetch for " + cursor.TopicPartition + " at offset " + target.FetchOffset.ToString(CultureInfo.InvariantCulture) + " failed: " +
                    ErrorCodes.Name(data.ErrorCode) + " (" + ErrorCodes.Description(data.ErrorCode) + "). The partition is held: seek to retry.",
                    ConsumeErrorKind.BrokerError, cursor.TopicPartition, target.FetchOffset, data.ErrorCode));
                return false;
        }
    }

    /// <summary>Sends a cursor to look its start up by <c>auto.offset.reset</c> (under the lock, its generation already new).</summary>
    private void Reset(PartitionCursor cursor)
    {
        cursor.State = CursorState.Resetting;
        cursor.PendingReset = _options.AutoOffsetReset == AutoOffsetReset.Earliest ? OffsetSpec.Earliest : OffsetSpec.Latest;
        _maintenance.Wake();
    }

    /// <summary>
    /// The leader found that the log this consumer fetched (the last fetched epoch at the fetch offset) is not its log:
    /// records after <paramref name="diverging"/>'s end offset were truncated by an unclean leader election (KIP-320).
    /// Nothing of the answer is delivered. Data fetched past that offset is dropped and fetched again from the new
    /// leader; if the application already has records past it, its position moves back there (warned), or, with
    /// <c>auto.offset.reset</c> error, the partition is held with a <see cref="ConsumeErrorKind.LogTruncation"/> error.
    /// </summary>
    private void Diverged(FetchTarget target, FetchResponse.EpochEndOffset diverging)
    {
        var cursor = target.Cursor;
        if (diverging.Epoch >= 0 && diverging.EndOffset >= target.FetchOffset)
        {
            // Nothing fetched is past the divergence, only the epoch differs: go on with the leader's epoch.
            cursor.LastFetchedEpoch = diverging.Epoch;
            return;
        }

        cursor.BumpGeneration(); // what was fetched ahead may be past the divergence: dropped
        long position = cursor.Position;
        bool known = diverging.Epoch >= 0 && diverging.EndOffset >= 0;
        if (known && diverging.EndOffset >= position)
        {
            // The application has seen nothing past the divergence: fetch again from its position. Every record
            // before it is in the leader's log up to the diverging epoch.
            cursor.FetchOffset = position;
            cursor.LastFetchedEpoch = diverging.Epoch;
            return;
        }

        if (_options.AutoOffsetReset == AutoOffsetReset.Error)
        {
            // Fetched again from the position with the epoch it had (a pause before the error is taken): the leader
            // answers with the same divergence.
            cursor.FetchOffset = position;
            cursor.State = CursorState.Held;
            cursor.HoldQueued = true;
            _buffer.EnqueueError(cursor, cursor.Generation, new ConsumeException(
                "Log truncation detected for " + cursor.TopicPartition + " at position " + position.ToString(CultureInfo.InvariantCulture) + ": " +
                (known
                    ? "the leader's log diverges from offset " + diverging.EndOffset.ToString(CultureInfo.InvariantCulture) + " (leader epoch " +
                        diverging.Epoch.ToString(CultureInfo.InvariantCulture) + "), so records the application consumed from there are no longer in the log"
                    : "the leader cannot say where its log diverges") +
                ", and auto.offset.reset is error. The partition is held: seek to continue.",
                ConsumeErrorKind.LogTruncation, cursor.TopicPartition, position)
            {
                DivergingOffset = known ? diverging.EndOffset : -1,
            });
        }
        else if (known)
        {
            _log.LogTruncated(cursor.TopicPartition, position, diverging.EndOffset, diverging.Epoch);
            cursor.Generation.MoveTo(diverging.EndOffset, diverging.Epoch); // a commit before the next record keeps the epoch
            cursor.FetchOffset = diverging.EndOffset;
            cursor.LastFetchedEpoch = diverging.Epoch;
        }
        else
        {
            _log.LogTruncatedReset(cursor.TopicPartition, position, _options.AutoOffsetReset);
            Reset(cursor);
        }
    }
}
