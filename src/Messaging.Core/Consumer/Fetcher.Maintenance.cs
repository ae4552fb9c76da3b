using System.Diagnostics;
using Messaging.Cluster;

namespace Messaging.Consumer;

/// <summary>The fetcher's maintenance loop: follows leaders through metadata and looks up start positions.</summary>
internal sealed partial class Fetcher
{
    private async Task MaintainAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        var wait = Timeout.InfiniteTimeSpan;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _maintenanceSignal.WaitAsync(wait, token).ConfigureAwait(false);
                var metadata = _cluster.Metadata.Current;
                bool refresh = Interlocked.Exchange(ref _refreshWanted, false);
                if (refresh || Route(metadata))
                {
                    metadata = await _cluster.Metadata.RefreshAsync(token).ConfigureAwait(false);
                    Route(metadata);
                }

                await ResolveOffsetsAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // A refresh or lookup failed (cluster unreachable, a request timed out, an unexpected answer): try
                // again after the backoff. The loop never dies: partitions would stop being looked after.
                Log.MaintenanceFailed(ex.Message);
            }

            wait = HasPendingWork() ? _options.RetryBackoff : Timeout.InfiniteTimeSpan;
        }
    }

    /// <summary>Points every cursor at its leader in <paramref name="metadata"/>. Returns true when some cursor's leader is unknown there.</summary>
    private bool Route(ClusterMetadata metadata)
    {
        bool missing = false;
        lock (_lock)
        {
            foreach (var cursor in _all)
            {
                if (cursor.State == CursorState.Removed)
                {
                    continue;
                }

                if (!metadata.Topics.TryGetValue(cursor.Topic, out var topic) || (uint)cursor.Partition >= (uint)topic.Partitions.Count)
                {
                    cursor.Leader = -1;
                    missing = true;
                    continue;
                }

                var partition = topic.Partitions[cursor.Partition];
                if (!metadata.HasRoutableLeader(partition))
                {
                    cursor.Leader = -1;
                    missing = true;
                    continue;
                }

                if (cursor.Leader != partition.Leader || cursor.LeaderEpoch != partition.LeaderEpoch || cursor.TopicId != topic.TopicId)
                {
                    Log.LeaderChanged(cursor.TopicPartition, partition.Leader, partition.LeaderEpoch);
                    cursor.Leader = partition.Leader;
                    cursor.LeaderEpoch = partition.LeaderEpoch;
                    cursor.TopicId = topic.TopicId;
                    Broker(partition.Leader).Signal();
                }
            }
        }

        return missing;
    }

    private bool HasPendingWork()
    {
        lock (_lock)
        {
            foreach (var cursor in _all)
            {
                if (cursor.State == CursorState.Resetting || (cursor.State == CursorState.Fetching && cursor.Leader < 0))
                {
                    return true;
                }
            }
        }

        return Volatile.Read(ref _refreshWanted);
    }

    /// <summary>The fetcher for <paramref name="node"/>, started on first use (under the lock).</summary>
    private BrokerFetcher Broker(int node)
    {
        if (!_brokers.TryGetValue(node, out var broker))
        {
            broker = new BrokerFetcher(this, node, _stop.Token);
            _brokers[node] = broker;
        }

        return broker;
    }

    /// <summary>
    /// Looks up the start offset of every resetting cursor whose leader is known, through the client's one ListOffsets
    /// path. It runs one round: this loop is the retry loop (it routes leaders between rounds), and a cursor whose
    /// lookup failed retriably is tried again after the backoff.
    /// </summary>
    private async Task ResolveOffsetsAsync(CancellationToken cancellationToken)
    {
        List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)>? entries = null;
        long now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            foreach (var cursor in _all)
            {
                if (cursor.State != CursorState.Resetting || cursor.Leader < 0 || cursor.InFlight || cursor.RetryAt > now)
                {
                    continue;
                }

                cursor.InFlight = true;
                (entries ??= []).Add((cursor, cursor.Generation, cursor.PendingReset));
            }
        }

        if (entries is null)
        {
            return;
        }

        var queries = new KeyValuePair<TopicPartition, OffsetSpec>[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            queries[i] = new(entries[i].Cursor.TopicPartition, entries[i].Start);
        }

        Dictionary<TopicPartition, OffsetLookupResult> answers;
        try
        {
            answers = await _offsetLookup.LookUpAsync(queries, _options.IsolationLevel, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Metadata unreachable, or stopping: nothing was learnt; free the cursors for the next round.
            Release(entries, Stopwatch.GetTimestamp() + ToStopwatchTicks(_options.RetryBackoff));
            throw;
        }

        ApplyStartOffsets(entries, answers);
    }

    private void ApplyStartOffsets(List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)> entries, Dictionary<TopicPartition, OffsetLookupResult> answers)
    {
        long retryAt = Stopwatch.GetTimestamp() + ToStopwatchTicks(_options.RetryBackoff);
        lock (_lock)
        {
            foreach (var (cursor, generation, start) in entries)
            {
                cursor.InFlight = false;
                if (cursor.Generation != generation || cursor.State != CursorState.Resetting)
                {
                    continue; // sought or removed meanwhile: the answer is for a start nobody wants any more
                }

                if (!answers.TryGetValue(cursor.TopicPartition, out var answer))
                {
                    cursor.RetryAt = retryAt;
                }
                else if (answer.Succeeded)
                {
                    if (answer.Offset.Offset >= 0)
                    {
                        cursor.FetchOffset = answer.Offset.Offset;
                        cursor.Position = answer.Offset.Offset;
                        cursor.State = CursorState.Fetching;
                        if (cursor.Leader >= 0)
                        {
                            Broker(cursor.Leader).Signal();
                        }
                    }
                    else if (start.IsTimestamp || start.IsMaxTimestamp)
                    {
                        cursor.PendingReset = OffsetSpec.Latest; // no record at or after the time: start at the end
                    }
                    else
                    {
                        cursor.RetryAt = retryAt;
                    }
                }
                else if (answer.IsRetriable)
                {
                    // A moved leader, a fenced epoch, a broker restarting: the lookup asked for fresh metadata, which
                    // the next round routes by.
                    cursor.RetryAt = retryAt;
                }
                else
                {
                    var code = answer.Error is KafkaErrorException broker ? broker.Code : ErrorCode.UnknownServerError;
                    cursor.State = CursorState.Held;
                    EnqueueError(cursor, generation, new ConsumeException(
                        "Looking up the " + start + " offset of " + cursor.TopicPartition + " failed: " + answer.Error!.Message + ". The partition is held: seek to retry.",
                        ConsumeErrorKind.BrokerError, cursor.TopicPartition, -1, code, answer.Error));
                }
            }
        }
    }

    private void Release(List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)> entries, long retryAt)
    {
        lock (_lock)
        {
            foreach (var (cursor, _, _) in entries)
            {
                cursor.InFlight = false;
                cursor.RetryAt = retryAt;
            }
        }
    }
}
