using Messaging.Cluster;
using Messaging.Producer;
using Messaging.Threading;

namespace Messaging.Consumer;

/// <summary>
/// The consumer's maintenance loop: follows partition leaders through metadata (pointing each cursor at its leader's
/// <see cref="BrokerFetcher"/>) and looks up start positions (earliest, latest, a timestamp) through the client's one
/// ListOffsets path. It runs when asked (<see cref="MaintenanceRequests"/>) and, while work is pending, after every
/// retry backoff.
/// </summary>
internal sealed class FetchMaintenance
{
    private readonly MetadataRefresher _metadata;
    private readonly OffsetLookup _offsetLookup;
    private readonly PartitionCursors _cursors;
    private readonly FetchBuffer _buffer;
    private readonly BrokerFetchers _brokers;
    private readonly MaintenanceRequests _requests;
    private readonly KafkaConsumerOptions _options;
    private readonly ConsumerLog _log;
    private readonly Clock _clock;
    private readonly Task _loop;

    /// <param name="metadata">Where leaders are learnt.</param>
    /// <param name="offsetLookup">Looks up start positions.</param>
    /// <param name="cursors">The cursors routed and reset (under their lock).</param>
    /// <param name="buffer">Where a failed lookup's error is queued for the application.</param>
    /// <param name="brokers">The leaders' fetchers, woken when their partitions may be fetched.</param>
    /// <param name="requests">What the other parts ask of this loop.</param>
    /// <param name="options">The retry backoff and the isolation level.</param>
    /// <param name="log">Where leader changes and failures are logged.</param>
    /// <param name="clock">The consumer's clock: backoffs count on it.</param>
    /// <param name="stop">Ends the loop.</param>
    public FetchMaintenance(MetadataRefresher metadata, OffsetLookup offsetLookup, PartitionCursors cursors, FetchBuffer buffer, BrokerFetchers brokers,
        MaintenanceRequests requests, KafkaConsumerOptions options, ConsumerLog log, Clock clock, CancellationToken stop)
    {
        _clock = clock;
        _metadata = metadata;
        _offsetLookup = offsetLookup;
        _cursors = cursors;
        _buffer = buffer;
        _brokers = brokers;
        _requests = requests;
        _options = options;
        _log = log;
        _loop = RunAsync(stop);
    }

    /// <summary>Completes when the loop has ended (after the stop token was cancelled).</summary>
    public Task WhenStoppedAsync() => BackgroundLoop.StoppedAsync(_loop);

    private async Task RunAsync(CancellationToken token)
    {
        await Task.Yield();
        var wait = Timeout.InfiniteTimeSpan;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _requests.WaitAsync(wait, token).ConfigureAwait(false);
                var metadata = _metadata.Current;
                bool refresh = _requests.TakeRefreshRequest();
                if (refresh || Route(metadata, fresh: false))
                {
                    metadata = await _metadata.RefreshAsync(token).ConfigureAwait(false);
                    Route(metadata, fresh: true);
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
                _log.MaintenanceFailed(ex.Message);
            }

            wait = HasPendingWork() ? _options.RetryBackoff : Timeout.InfiniteTimeSpan;
        }
    }

    /// <summary>
    /// Points every cursor at its leader in <paramref name="metadata"/>. Returns true when some cursor's leader is unknown
    /// there. A partition of a topic <paramref name="fresh"/> metadata (asked for now, not cached from before a seek)
    /// refuses for good — no rights to it, an invalid name — is held with that error: waiting would never end, and the
    /// application would never learn why.
    /// </summary>
    private bool Route(ClusterMetadata metadata, bool fresh)
    {
        bool missing = false;
        lock (_cursors.Sync)
        {
            foreach (var cursor in _cursors.All)
            {
                if (cursor.State == CursorState.Removed)
                {
                    continue;
                }

                if (!metadata.Topics.TryGetValue(cursor.Topic, out var topic) || (uint)cursor.Partition >= (uint)topic.Partitions.Count)
                {
                    if (fresh && topic is not null && TopicMetadataWaiter.RefusesTopic(topic.Error))
                    {
                        Refuse(cursor, topic.Error);
                        continue;
                    }

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
                    _log.LeaderChanged(cursor.TopicPartition, partition.Leader, partition.LeaderEpoch);
                    cursor.Leader = partition.Leader;
                    cursor.LeaderEpoch = partition.LeaderEpoch;
                    cursor.TopicId = topic.TopicId;
                    _brokers.Get(cursor.FetchNode).Signal();
                }
            }
        }

        return missing;
    }

    /// <summary>
    /// Holds a partition whose topic the metadata refuses with <paramref name="code"/> (under the lock), unless it is
    /// held already, paused, or waits for its group's assignment callback (nothing of it reaches the application then).
    /// </summary>
    private void Refuse(PartitionCursor cursor, ErrorCode code)
    {
        cursor.Leader = -1;
        if (cursor.State is not (CursorState.Fetching or CursorState.Resetting) || cursor.Paused || cursor.AwaitingStart)
        {
            return;
        }

        long offset = cursor.State == CursorState.Fetching ? cursor.FetchOffset : -1; // queued after what was fetched before; -1 while the start is unknown
        cursor.HoldReturnsTo = cursor.State; // a pause drops the error with the queue: routed again (and refused again) on resume
        cursor.State = CursorState.Held;
        cursor.HoldQueued = true;
        _buffer.EnqueueError(cursor, cursor.Generation, new ConsumeException(
            "Reading " + cursor.TopicPartition + " is refused: the metadata answers " + ErrorCodes.Name(code) + " (" + ErrorCodes.Description(code) +
            ") for its topic. The partition is held: seek to retry.",
            ConsumeErrorKind.BrokerError, cursor.TopicPartition, offset, code));
    }

    private bool HasPendingWork() => _cursors.NeedMaintenance() || _requests.RefreshWanted;

    /// <summary>
    /// Looks up the start offset of every resetting cursor whose leader is known, through the client's one ListOffsets
    /// path. It runs one round: this loop is the retry loop (it routes leaders between rounds), and a cursor whose
    /// lookup failed retriably is tried again after the backoff.
    /// </summary>
    private async Task ResolveOffsetsAsync(CancellationToken cancellationToken)
    {
        List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)>? entries = null;
        long now = _clock.Now;
        lock (_cursors.Sync)
        {
            foreach (var cursor in _cursors.All)
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
            Release(entries, _clock.After(_options.RetryBackoff));
            throw;
        }

        ApplyStartOffsets(entries, answers);
    }

    private void ApplyStartOffsets(List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)> entries, Dictionary<TopicPartition, OffsetLookupResult> answers)
    {
        long retryAt = _clock.After(_options.RetryBackoff);
        lock (_cursors.Sync)
        {
            foreach (var (cursor, generation, start) in entries)
            {
                cursor.InFlight = false;
                if (cursor.Generation != generation || cursor.State != CursorState.Resetting)
                {
                    // Sought or removed meanwhile: the answer is for a start nobody wants any more. A seek to an offset
                    // found the cursor in flight, so its fetcher did not take it: wake it now that it may.
                    SignalIfFetching(cursor);
                    continue;
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
                        cursor.LastFetchedEpoch = -1;
                        cursor.Position = answer.Offset.Offset;
                        cursor.State = CursorState.Fetching;
                        SignalIfFetching(cursor);
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
                    cursor.HoldQueued = true; // a pause drops the error with the queue: the start is looked up again then
                    cursor.HoldReturnsTo = CursorState.Resetting;
                    _buffer.EnqueueError(cursor, generation, new ConsumeException(
                        "Looking up the " + start + " offset of " + cursor.TopicPartition + " failed: " + answer.Error!.Message + ". The partition is held: seek to retry.",
                        ConsumeErrorKind.BrokerError, cursor.TopicPartition, -1, code, answer.Error));
                }
            }
        }
    }

    private void Release(List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)> entries, long retryAt)
    {
        lock (_cursors.Sync)
        {
            foreach (var (cursor, generation, _) in entries)
            {
                cursor.InFlight = false;
                if (cursor.Generation == generation)
                {
                    cursor.RetryAt = retryAt;
                }

                SignalIfFetching(cursor); // sought to an offset while the lookup was out: the failure was the old start's, fetched at once
            }
        }
    }

    /// <summary>Wakes the fetcher of a cursor that may be fetched (under the lock): its broker fetcher skipped it while it was in flight here.</summary>
    private void SignalIfFetching(PartitionCursor cursor)
    {
        if (cursor.State == CursorState.Fetching && cursor.Leader >= 0)
        {
            _brokers.Get(cursor.FetchNode).Signal(); // the leader, or the read replica it named
        }
    }
}
