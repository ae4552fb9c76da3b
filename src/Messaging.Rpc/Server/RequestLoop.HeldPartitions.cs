namespace Messaging.Rpc;

/// <summary>
/// How a <see cref="RequestLoop"/> moves a request partition the consumer holds after an error, so that no request is
/// skipped and none is handled twice needlessly: past an unreadable record, back to where a truncated log diverges, to
/// the log's start from a position outside the log, or — after a wait — back to the same offset or to the group's
/// committed offset.
/// </summary>
internal sealed partial class RequestLoop
{
    /// <summary>
    /// Moves a partition the consumer holds after an error: past a record that cannot be read, at once; after a log
    /// truncation, at once to where the log diverges (<see cref="HeldPosition.AfterTruncation"/>); from a position out of
    /// the log's range, at once to its start; back to the same
    /// offset, after a pause, when the broker could not serve it (the record there is a request not read yet: skipping it
    /// would lose it, and a later commit would pass it); or — when the error has no offset (where to start could not be
    /// looked up: the group's committed offset, or the reset policy's) — to the group's committed offset, looked up
    /// again. "Past" -1 would be offset 0: the whole partition, its answered requests included, handled again.
    /// </summary>
    /// <remarks>
    /// The last two wait (a backoff; a lookup retried until the group's coordinator answers, for as long as it is
    /// down), so they run beside this loop: awaited here, they stopped every other partition's requests, and the parked
    /// batches that finishing requests free, meanwhile. Nothing of the held partition arrives until its seek — the
    /// consumer delivers no record of it and reports its error once per hold — so moves do not pile up.
    /// </remarks>
    private void MoveHeld(ConsumeException error, CancellationToken token)
    {
        if (error.Offset >= 0 && error.Kind != ConsumeErrorKind.BrokerError)
        {
            var offset = OffsetSpec.At(error.Offset + 1);
            if (error.Kind == ConsumeErrorKind.LogTruncation)
            {
                var divergence = HeldPosition.AfterTruncation(error);
                Rewind(error.TopicPartition, divergence);
                offset = OffsetSpec.At(divergence);
            }
            else if (error.Kind == ConsumeErrorKind.OffsetOutOfRange)
            {
                // No record there to skip past: the position is outside the log — below its start (deleted) or past its
                // end (the log behind the group's commit: truncated, or the topic made anew). One past it would be out
                // of range again, offset by offset, for good past the end. From the log's first request on: nothing the
                // log still has is skipped (requests handled before come again, at least once; expired ones are cheap).
                RewindAtNextBatch(error.TopicPartition);
                offset = OffsetSpec.Earliest;
            }

            try
            {
                _consumer.Seek(error.TopicPartition, offset);
            }
            catch (ArgumentException)
            {
                // Not (or no longer) assigned: nothing to skip.
            }

            return;
        }

        _reseeks.RemoveAll(static move => move.IsCompleted);
        _reseeks.Add(MoveHeldLaterAsync(error, token));
    }

    /// <summary>
    /// Lets <paramref name="partition"/>'s tracker take the offsets from <paramref name="offset"/> on again: the new
    /// leader's requests there are not the ones handled at those offsets, and refused as delivered twice they would
    /// never be handled. Before the seek, on this loop's thread (the one that registers).
    /// </summary>
    private void Rewind(TopicPartition partition, long offset)
    {
        PartitionState? state;
        lock (_partitionsLock)
        {
            _partitions.TryGetValue(partition, out state);
        }

        state?.Tracker.Rewind(offset);
    }

    /// <summary>
    /// As <see cref="Rewind"/>, for a seek to an offset looked up (the log's start): the partition's next batch says where
    /// the tracker takes offsets again.
    /// </summary>
    private void RewindAtNextBatch(TopicPartition partition)
    {
        lock (_partitionsLock)
        {
            if (_partitions.TryGetValue(partition, out var state))
            {
                state.RewindPending = true;
            }
        }
    }

    /// <summary>
    /// The waiting part of <see cref="MoveHeld"/>. The seek is made only while the partition is still held where the
    /// error left it (at the error's offset, or at no position for a start not looked up): otherwise it moved meanwhile
    /// — revoked and assigned again, say, from the group's commit — and seeking that assignment to this error's offset
    /// could skip requests it has not read. Only a rebalance between that check and the seek escapes it (awaited in the
    /// loop, the whole wait was such a window); the seek then repeats requests, or, for a broker error, lands where
    /// the old assignment stood.
    /// </summary>
    private async Task MoveHeldLaterAsync(ConsumeException error, CancellationToken token)
    {
        var partition = error.TopicPartition;
        try
        {
            OffsetSpec start;
            long? heldAt = null;
            if (error.Offset < 0)
            {
                start = await CommittedStartAsync(partition, token).ConfigureAwait(false);
            }
            else
            {
                await Task.Delay(ErrorBackoff, _time, token).ConfigureAwait(false);
                start = OffsetSpec.At(error.Offset);
                heldAt = error.Offset;
            }

            if (_consumer.Position(partition) == heldAt)
            {
                _consumer.Seek(partition, start);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping: the partition goes with the group.
        }
        catch (ArgumentException)
        {
            // Not (or no longer) assigned: nothing to move.
        }
#pragma warning disable CA1031 // Awaited at shutdown, which must not fail over it; the partition stays held until the next rebalance.
        catch (Exception)
#pragma warning restore CA1031
        {
            Interlocked.Increment(ref _counters.ConsumeErrors);
        }
    }

    /// <summary>
    /// Where the group left <paramref name="partition"/> (the reset policy's end when nothing is committed), asked until
    /// the answer comes. Asked of the group, not of this server's partitions: the error can arrive before the
    /// assignment's listener has run.
    /// </summary>
    private async Task<OffsetSpec> CommittedStartAsync(TopicPartition partition, CancellationToken token)
    {
        while (true)
        {
            try
            {
                var committed = await _consumer.CommittedAsync([partition], token).ConfigureAwait(false);
                if (committed[0].Offset >= 0)
                {
                    return OffsetSpec.At(committed[0].Offset);
                }

                return _options.Consumer.AutoOffsetReset == AutoOffsetReset.Latest ? OffsetSpec.Latest : OffsetSpec.Earliest;
            }
#pragma warning disable CA1031 // The partition stays held until a seek: keep asking (the stop token ends it).
            catch (Exception) when (!token.IsCancellationRequested)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _counters.ConsumeErrors);
                await Task.Delay(ErrorBackoff, _time, token).ConfigureAwait(false);
            }
        }
    }
}
