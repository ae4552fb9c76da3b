namespace Messaging.Rpc;

/// <summary>
/// The client's reply consumer: assigned (no group, so no rebalance) to the reply partitions from their end, it reads
/// raw batches and hands each record to <see cref="PendingCalls.OnReply"/>, recycling it at once. Reading every
/// partition of a shared topic, it follows the topic's partition count (<see cref="Follow"/>), adding the partitions
/// an operator adds.
/// </summary>
internal sealed class ReplyListener : IAsyncDisposable
{
    private static readonly TimeSpan PositionPoll = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromMilliseconds(100);

    private readonly KafkaConsumer _consumer;
    private readonly PendingCalls _calls;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<ReplyRun> _runs = new();
    private readonly Action<ReplyRun> _returnRun;
    private Task _loop = Task.CompletedTask;
    private Task _follow = Task.CompletedTask;

    // Partitions to add to the assignment (and, from a retried start, the only ones to keep), and the token that wakes
    // the loop from its consume call to change it: the loop alone uses the consumer, so positions it reads between
    // batches are where reading stands.
    private readonly Lock _adding = new();
    private readonly List<TopicPartitionOffset> _added = [];
    private IReadOnlyList<TopicPartition>? _only;
    private CancellationTokenSource _wake;

    // Re-seeks of partitions the consumer holds after an error, waiting out their backoff; touched by the loop only,
    // awaited once it has ended.
    private readonly List<Task> _retries = [];

    public ReplyListener(KafkaConsumerOptions options, PendingCalls calls, TimeProvider time)
    {
        // Every position is placed here (the partitions' end at start, their start when added later), so the reset
        // policy applies only to a position the log no longer holds: the consumer reports it (Recover moves it to the
        // log's start) instead of moving it to the end past the replies written since.
        var consumer = options.Clone();
        consumer.AutoOffsetReset = AutoOffsetReset.Error;
        _consumer = new KafkaConsumer(consumer);
        _calls = calls;
        _time = time;
        _returnRun = _runs.Enqueue;
        _wake = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
    }

    /// <summary>
    /// Assigns <paramref name="partitions"/> at their end, starts reading, and returns once every one has its position
    /// (so a reply to a call sent afterwards cannot land before where reading starts).
    /// </summary>
    public async Task StartAsync(IReadOnlyList<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var assignment = new TopicPartitionOffset[partitions.Count];
        for (var i = 0; i < assignment.Length; i++)
        {
            assignment[i] = new TopicPartitionOffset(partitions[i], OffsetSpec.Latest);
        }

        // A start retried after a timed-out positioning finds its loop still running: one loop per consumer (the
        // consumer takes one consume call at a time), so it has the loop change the assignment to these partitions —
        // an operator may have added partitions meanwhile — keeping the positions of those it had, and waits for the
        // positions again.
        if (!_loop.IsCompleted)
        {
            Add(assignment, partitions);
        }
        else
        {
            _consumer.Assign(assignment);

            // The loop lives as long as the client: it must not carry the execution context (Activity, AsyncLocals)
            // of the call that happened to start the client.
            using (ExecutionContext.SuppressFlow())
            {
                _loop = Task.Run(LoopAsync, CancellationToken.None);
            }
        }

        foreach (var partition in partitions)
        {
            while (PositionOf(partition) is null)
            {
                if (_loop.IsCompleted)
                {
                    await _loop.ConfigureAwait(false); // surfaces the loop's failure
                    throw new InvalidOperationException("The reply consumer stopped before its partitions were positioned.");
                }

                await Task.Delay(PositionPoll, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Looks up the partition count of <paramref name="topic"/> (of which <paramref name="count"/> partitions are
    /// assigned) every <paramref name="period"/> until disposal, and adds the partitions found beyond it, read from
    /// their start: a reply placed there may already be waiting. The partitions already read keep their positions.
    /// <paramref name="added"/> hears the new count once they are queued for the loop: from their start, nothing
    /// placed on them from then on can be missed.
    /// </summary>
    public void Follow(KafkaAdminClient admin, string topic, int count, TimeSpan period, Action<int> added)
    {
        using (ExecutionContext.SuppressFlow())
        {
            _follow = Task.Run(() => FollowAsync(admin, topic, count, FarDeadline.StepOf(period), added), CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped as asked.
        }

        await _follow.ConfigureAwait(false); // ends at the stop token; never throws
        _wake.Dispose();

        await Task.WhenAll(_retries).ConfigureAwait(false); // they end at the stop token; none throws
        await _consumer.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var wake = _wake;
            if (wake.IsCancellationRequested)
            {
                AssignAdded();
                continue;
            }

            ConsumeBatch batch;
            try
            {
                batch = await _consumer.ConsumeBatchAsync(wake.Token).ConfigureAwait(false);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return; // stopping: a cancelled wait, or the consumer already closing under it
            }
            catch (OperationCanceledException) when (wake.IsCancellationRequested)
            {
                continue; // woken to add partitions
            }
            catch (ConsumeException ex)
            {
                _calls.CountConsumeError();
                Recover(ex, token);
                continue;
            }
#pragma warning disable CA1031 // The loop must outlive any one failure: pending calls still end by their deadlines.
            catch (Exception) when (!token.IsCancellationRequested)
#pragma warning restore CA1031
            {
                _calls.CountConsumeError();
                await Task.Delay(ErrorBackoff, _time, token).ConfigureAwait(false);
                continue;
            }

            Dispatch(batch);
        }
    }

    private async Task FollowAsync(KafkaAdminClient admin, string topic, int count, TimeSpan period, Action<int> onAdded)
    {
        var token = _stop.Token;
        while (true)
        {
            int now;
            try
            {
                await Task.Delay(period, _time, token).ConfigureAwait(false);
                var info = await admin.DescribeTopicsAsync([topic], token).ConfigureAwait(false);
                now = info.Count == 1 ? info[0].Partitions.Count : 0;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return; // stopping
            }
#pragma warning disable CA1031 // A failed look-up changes nothing: the partitions read stay, and the next period looks again.
            catch (Exception)
#pragma warning restore CA1031
            {
                continue;
            }

            if (now > count)
            {
                var added = new TopicPartitionOffset[now - count];
                for (var i = 0; i < added.Length; i++)
                {
                    added[i] = new TopicPartitionOffset(new TopicPartition(topic, count + i), OffsetSpec.Earliest);
                }

                Add(added, only: null);
                count = now;
                onAdded(now);
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="partitions"/> for the loop to add where their entries say (unless already assigned), and
    /// with <paramref name="only"/> to drop every other partition; wakes the loop from its consume call.
    /// </summary>
    private void Add(TopicPartitionOffset[] partitions, IReadOnlyList<TopicPartition>? only)
    {
        CancellationTokenSource wake;
        lock (_adding)
        {
            _added.AddRange(partitions);
            _only = only ?? _only;
            wake = _wake;
        }

        try
        {
            wake.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The loop already replaced it, taking these partitions with it (or the listener is stopping).
        }
    }

    /// <summary>
    /// On the loop, between consume calls: assigns the queued partitions where their entries say, and every partition
    /// already assigned (and kept) where it stands — one with no position yet from its end, as it was going to be.
    /// </summary>
    private void AssignAdded()
    {
        CancellationTokenSource woken;
        TopicPartitionOffset[] added;
        IReadOnlyList<TopicPartition>? only;
        lock (_adding)
        {
            added = [.. _added];
            _added.Clear();
            (only, _only) = (_only, null);
            woken = _wake;
            _wake = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        }

        woken.Dispose();
        var assigned = _consumer.Assignment;
        var assignment = new Dictionary<TopicPartition, OffsetSpec>(assigned.Count + added.Length);
        foreach (var partition in assigned)
        {
            if (only is null || only.Contains(partition))
            {
                assignment[partition] = _consumer.Position(partition) is { } position ? OffsetSpec.At(position) : OffsetSpec.Latest;
            }
        }

        foreach (var entry in added)
        {
            assignment.TryAdd(entry.TopicPartition, entry.Start);
        }

        _consumer.Assign(assignment.Select(static pair => new TopicPartitionOffset(pair.Key, pair.Value)));
    }

    /// <summary>The position of <paramref name="partition"/>, or null while it has none or the loop has yet to assign it.</summary>
    private long? PositionOf(TopicPartition partition)
    {
        try
        {
            return _consumer.Position(partition);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// Hands every record of <paramref name="batch"/> to the pending calls, recycling each at once; the answered calls
    /// are completed by <see cref="ReplyRun"/>s queued as they fill and when the batch is done.
    /// </summary>
    private void Dispatch(ConsumeBatch batch)
    {
        var run = Rent();
        try
        {
            foreach (var record in batch.Records)
            {
                try
                {
                    _calls.OnReply(record, run);
                }
                finally
                {
                    record.Recycle();
                }

                if (run.IsFull)
                {
                    run.Schedule();
                    run = Rent();
                }
            }
        }
        finally
        {
            batch.Dispose();
            if (run.IsEmpty)
            {
                _runs.Enqueue(run);
            }
            else
            {
                run.Schedule(); // also after a failure: the calls in it are claimed and must complete
            }
        }
    }

    private ReplyRun Rent() => _runs.TryDequeue(out var run) ? run : new ReplyRun(_returnRun);

    /// <summary>
    /// Moves a partition the consumer holds after <paramref name="error"/>. A record that cannot be read (corrupt,
    /// undecodable) is skipped: its call ends by its deadline, the others go on. Anything else read nothing at the
    /// error's offset — a broker's refusal, or a start not looked up (offset -1) — so skipping would lose the reply
    /// there, or read the whole topic from offset 0: the partition is read again where it stood after a backoff, or
    /// from its end again when it had no position. A log truncation resumes at once where the log diverges, as the
    /// server's request loop does: the new leader's replies from there on are read, none skipped. A position out of
    /// the log's range moves at once to the log's start: the log was replaced (the topic deleted and created again)
    /// or retention overtook the client, and either way the replies written since are there, not at the end.
    /// </summary>
    private void Recover(ConsumeException error, CancellationToken token)
    {
        if (error.Offset >= 0 && error.Kind == ConsumeErrorKind.OffsetOutOfRange)
        {
            Seek(error.TopicPartition, OffsetSpec.Earliest, onlyIfAt: error.Offset);
            return;
        }

        if (error.Offset >= 0 && error.Kind is ConsumeErrorKind.CorruptRecord or ConsumeErrorKind.Deserialization or ConsumeErrorKind.LogTruncation)
        {
            var resume = error.Kind == ConsumeErrorKind.LogTruncation ? HeldPosition.AfterTruncation(error) : error.Offset + 1;
            Seek(error.TopicPartition, OffsetSpec.At(resume), conditional: false);
            return;
        }

        _retries.RemoveAll(static retry => retry.IsCompleted);
        _retries.Add(RetryLaterAsync(error, token));
    }

    /// <summary>
    /// The waiting part of <see cref="Recover"/>: the seek is made only while the partition is still held where the
    /// error left it, so a seek the client made meanwhile (a restart's assignment) is not undone.
    /// </summary>
    private async Task RetryLaterAsync(ConsumeException error, CancellationToken token)
    {
        try
        {
            await Task.Delay(ErrorBackoff, _time, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // stopping
        }

        var heldAt = error.Offset >= 0 ? error.Offset : (long?)null;
        Seek(error.TopicPartition, heldAt is { } offset ? OffsetSpec.At(offset) : OffsetSpec.Latest, heldAt);
    }

    /// <summary>Seeks <paramref name="partition"/>; with <paramref name="onlyIfAt"/>, only while its position is that (null: none).</summary>
    private void Seek(TopicPartition partition, OffsetSpec offset, long? onlyIfAt = null, bool conditional = true)
    {
        try
        {
            if (!conditional || _consumer.Position(partition) == onlyIfAt)
            {
                _consumer.Seek(partition, offset);
            }
        }
        catch (ArgumentException)
        {
            // Not (or no longer) assigned: nothing to move. (Never disposed here: the consumer goes only once the loop
            // and its retries have ended.)
        }
    }
}
