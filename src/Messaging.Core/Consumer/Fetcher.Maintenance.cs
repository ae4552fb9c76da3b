using System.Diagnostics;
using Messaging.Admin;
using Messaging.Cluster;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

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

    /// <summary>Looks up the start offset of every resetting cursor whose leader is known, one ListOffsets per leader.</summary>
    private async Task ResolveOffsetsAsync(CancellationToken cancellationToken)
    {
        var byLeader = new Dictionary<int, List<(PartitionCursor Cursor, CursorGeneration Generation, StartOffset Start)>>();
        long now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            foreach (var cursor in _all)
            {
                if (cursor.State != CursorState.Resetting || cursor.Leader < 0 || cursor.InFlight || cursor.RetryAt > now)
                {
                    continue;
                }

                if (!byLeader.TryGetValue(cursor.Leader, out var list))
                {
                    byLeader[cursor.Leader] = list = [];
                }

                cursor.InFlight = true;
                list.Add((cursor, cursor.Generation, cursor.PendingReset));
            }
        }

        foreach (var (leader, entries) in byLeader)
        {
            ListOffsetsResponse? response = null;
            Exception? failure = null;
            try
            {
                var connection = await _cluster.Connections.GetAsync(leader, cancellationToken).ConfigureAwait(false);
                response = await connection.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(ListOffsets(entries), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                failure = ex;
            }
            catch
            {
                Release(entries, Stopwatch.GetTimestamp());
                throw;
            }

            ApplyListOffsets(entries, response, failure);
        }
    }

    private ListOffsetsRequest ListOffsets(List<(PartitionCursor Cursor, CursorGeneration Generation, StartOffset Start)> entries)
    {
        var topics = new Dictionary<string, List<ListOffsetsRequest.ListOffsetsPartition>>(StringComparer.Ordinal);
        foreach (var (cursor, _, start) in entries)
        {
            if (!topics.TryGetValue(cursor.Topic, out var list))
            {
                topics[cursor.Topic] = list = [];
            }

            list.Add(new ListOffsetsRequest.ListOffsetsPartition
            {
                PartitionIndex = cursor.Partition,
                CurrentLeaderEpoch = cursor.LeaderEpoch,
                Timestamp = start.IsTimestamp ? start.Value : start.IsEarliest ? OffsetSpec.Earliest.Timestamp : OffsetSpec.Latest.Timestamp,
            });
        }

        var request = new ListOffsetsRequest
        {
            ReplicaId = -1,
            IsolationLevel = (sbyte)_options.IsolationLevel,
            TimeoutMs = (int)Math.Min(_options.RequestTimeout.TotalMilliseconds, int.MaxValue),
            Topics = new ListOffsetsRequest.ListOffsetsTopic[topics.Count],
        };
        int i = 0;
        foreach (var (name, list) in topics)
        {
            request.Topics[i++] = new ListOffsetsRequest.ListOffsetsTopic { Name = name, Partitions = [.. list] };
        }

        return request;
    }

    private void ApplyListOffsets(List<(PartitionCursor Cursor, CursorGeneration Generation, StartOffset Start)> entries, ListOffsetsResponse? response, Exception? failure)
    {
        long retryAt = Stopwatch.GetTimestamp() + ToStopwatchTicks(_options.RetryBackoff);
        bool refresh = failure is not null;
        lock (_lock)
        {
            var answers = new Dictionary<TopicPartition, ListOffsetsResponse.ListOffsetsPartitionResponse>();
            if (response is not null)
            {
                foreach (var topic in response.Topics)
                {
                    foreach (var answer in topic.Partitions)
                    {
                        answers[new TopicPartition(topic.Name, answer.PartitionIndex)] = answer;
                    }
                }
            }

            foreach (var (cursor, generation, start) in entries)
            {
                cursor.InFlight = false;
                if (cursor.Generation != generation || cursor.State != CursorState.Resetting)
                {
                    continue;
                }

                if (!answers.TryGetValue(cursor.TopicPartition, out var answer))
                {
                    cursor.RetryAt = retryAt;
                    continue;
                }

                if (answer.ErrorCode == ErrorCode.None)
                {
                    if (answer.Offset >= 0)
                    {
                        cursor.FetchOffset = answer.Offset;
                        cursor.Position = answer.Offset;
                        cursor.State = CursorState.Fetching;
                        if (cursor.Leader >= 0)
                        {
                            Broker(cursor.Leader).Signal();
                        }
                    }
                    else if (start.IsTimestamp)
                    {
                        cursor.PendingReset = StartOffset.Latest; // no record at or after the time: start at the end
                    }
                    else
                    {
                        cursor.RetryAt = retryAt;
                    }
                }
                else if (ClusterClient.MeansStaleMetadata(answer.ErrorCode))
                {
                    cursor.Leader = -1;
                    cursor.RetryAt = retryAt;
                    refresh = true;
                }
                else if (ErrorCodes.IsRetriable(answer.ErrorCode))
                {
                    cursor.RetryAt = retryAt;
                }
                else
                {
                    cursor.State = CursorState.Held;
                    EnqueueError(cursor, generation, new ConsumeException(
                        "Looking up the " + start + " offset of " + cursor.TopicPartition + " failed: " + ErrorCodes.Name(answer.ErrorCode) +
                        " (" + ErrorCodes.Description(answer.ErrorCode) + "). The partition is held: seek to retry.",
                        ConsumeErrorKind.BrokerError, cursor.TopicPartition, -1, answer.ErrorCode));
                }
            }
        }

        if (refresh)
        {
            Volatile.Write(ref _refreshWanted, true);
        }
    }

    private void Release(List<(PartitionCursor Cursor, CursorGeneration Generation, StartOffset Start)> entries, long now)
    {
        lock (_lock)
        {
            foreach (var (cursor, _, _) in entries)
            {
                cursor.InFlight = false;
                cursor.RetryAt = now;
            }
        }
    }
}
