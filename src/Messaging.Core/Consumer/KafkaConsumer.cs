using System.Diagnostics;
using System.Text.RegularExpressions;
using Messaging.Cluster;
using Messaging.Consumer;
using Messaging.Diagnostics;
using Messaging.Errors;
using Messaging.Records;
using Messaging.Serialization;

namespace Messaging;

/// <summary>
/// A Kafka consumer of raw bytes with manual assignment: assign partitions with start positions, then read records as
/// raw batches over pooled memory (<see cref="ConsumeBatchAsync"/>) or as raw records one by one
/// (<see cref="ConsumeRawAsync"/>) — no deserializers involved. <see cref="KafkaConsumer{TKey, TValue}"/> adds a typed
/// stream on top. One Fetch per broker is in flight while the application reads what came before, bounded by
/// <see cref="KafkaConsumerOptions.MaxBufferedBytes"/>; records are decoded straight from the pooled response buffers.
/// </summary>
/// <remarks>
/// <para>Threading: one consume call (or enumeration) at a time — a second concurrent one throws
/// <see cref="InvalidOperationException"/>. <see cref="Assign"/>, <see cref="Seek"/>, <see cref="Pause"/>,
/// <see cref="Resume"/> and <see cref="Position"/> are thread-safe: data fetched for a partition before a seek or pause
/// is dropped, never delivered after the call returns. Called from the consuming thread between records (as Kafka's
/// consumer requires) their effect is exact; called from another thread while a record is being handed out, that one
/// record may still arrive, but it never moves the position: after a seek the position is the seek's (after a pause,
/// that record may come again on resume). An enumeration stopped (its loop left) before the last record fetched
/// leaves the records after the one it got to the next consume call.</para>
/// <para>Errors for one partition (corrupt data, offset out of range under <see cref="AutoOffsetReset.Error"/>, a failed
/// deserializer, a non-retriable broker error) surface as <see cref="ConsumeException"/> in the partition's order, after
/// every record before the failure; the partition is held at the failing offset until the application seeks it.
/// Transient failures (leader moves, broker restarts, lost connections) are retried behind the scenes.</para>
/// <para>Memory: raw records point into pooled buffers until recycled; the pools are set in
/// <see cref="KafkaConsumerOptions.Pools"/>. Dispose the consumer to stop fetching and close its connections.</para>
/// </remarks>
public sealed class KafkaConsumer : IKafkaConsumer
{
    private readonly ClusterClient _cluster;
    private readonly Fetcher _fetcher;
    private readonly ChunkDecoder _decoder;
    private readonly ConsumerPoolsInUse _pools;
    private readonly ConsumerGroup? _group;
    private readonly string _clientId;
    private readonly int _maxPollRecords;
    private FetchedPartition? _chunk;
    private RecordSlice? _rest; // a slice a consume call stopped inside: its records from _restStart on go out first
    private int _restStart;
    private int _consuming;
    private int _disposed;

    /// <summary>Creates the consumer; it connects when partitions are assigned.</summary>
    /// <param name="options">The settings (validated and copied now).</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public KafkaConsumer(KafkaConsumerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var snapshot = options.Clone();
        _maxPollRecords = snapshot.MaxPollRecords;
        _pools = ConsumerPoolsInUse.Create(snapshot);
        var decoderOptions = new RecordDecoderOptions { VerifyCrc = snapshot.CheckCrcs, MaxDecompressedBatchBytes = snapshot.MaxDecompressedBatchBytes };
        _decoder = new ChunkDecoder(decoderOptions, snapshot.IsolationLevel == IsolationLevel.ReadCommitted,
            new PooledDecompressionWriter(_pools.DecompressionBuffers, snapshot.MaxDecompressedBatchBytes));
        _cluster = new ClusterClient(snapshot);
        _fetcher = new Fetcher(_cluster, snapshot, _pools);
        _group = snapshot.GroupId is null ? null : new ConsumerGroup(snapshot, _cluster, _fetcher);
        _clientId = snapshot.ClientId;
    }

    /// <summary>The assigned partitions.</summary>
    public IReadOnlyList<TopicPartition> Assignment => _fetcher.Assignment();

    /// <summary>The paused partitions.</summary>
    public IReadOnlyList<TopicPartition> PausedPartitions => _fetcher.Paused();

    /// <summary>The subscribed topics (for a pattern, the topics it matches now); empty when not subscribed.</summary>
    public IReadOnlyCollection<string> Subscription => _group?.Subscription ?? [];

    /// <summary>The member id the group coordinator knows this consumer by, or null before it joined (or without a group).</summary>
    public string? MemberId => _group?.MemberId;

    internal Fetcher Fetcher => _fetcher;

    internal ClusterClient Cluster => _cluster;

    internal ConsumerGroup? Group => _group;

    /// <summary>The pools this consumer uses (tests check which).</summary>
    internal ConsumerPoolsInUse Pools => _pools;

    /// <summary>
    /// Replaces the assignment: the consumer reads exactly these partitions, each from its start position (an offset,
    /// earliest, latest, or a timestamp — looked up in the background). Partitions no longer assigned stop at once.
    /// </summary>
    /// <param name="partitions">The partitions and where to start.</param>
    /// <exception cref="InvalidOperationException">The consumer is subscribed: the group assigns its partitions.</exception>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        ThrowIfSubscribed(nameof(Assign));
        TopicPartitionOffset[] assigned = [.. partitions];
        _group?.OwnManually(assigned); // before the fetcher forgets the positions of the partitions dropped
        _fetcher.Assign(assigned);
    }

    /// <summary>Stops reading every partition.</summary>
    /// <exception cref="InvalidOperationException">The consumer is subscribed: use <see cref="UnsubscribeAsync"/>.</exception>
    public void Unassign()
    {
        ThrowIfSubscribed(nameof(Unassign));
        _group?.OwnManually([]);
        _fetcher.Assign([]);
    }

    /// <summary>
    /// Joins the consumer group <see cref="KafkaConsumerOptions.GroupId"/> to read <paramref name="topics"/>: the group
    /// shares their partitions among its members and moves them as members come and go. Calling it again replaces the
    /// subscription (and the listener). Returns at once; partitions arrive when the group has assigned them.
    /// </summary>
    /// <param name="topics">The topics.</param>
    /// <param name="listener">Told of assigned, revoked and lost partitions (awaited), or null.</param>
    /// <exception cref="InvalidOperationException">No <see cref="KafkaConsumerOptions.GroupId"/>, or partitions were assigned with <see cref="Assign"/>.</exception>
    public void Subscribe(IEnumerable<string> topics, IConsumerRebalanceListener? listener = null)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var list = new List<string>();
        foreach (var topic in topics)
        {
            ArgumentException.ThrowIfNullOrEmpty(topic, nameof(topics));
            if (!list.Contains(topic))
            {
                list.Add(topic);
            }
        }

        if (list.Count == 0)
        {
            throw new ArgumentException("Subscribe to at least one topic (UnsubscribeAsync leaves the group).", nameof(topics));
        }

        GroupForSubscribe().Subscribe(list, null, listener);
    }

    /// <summary>
    /// Joins the consumer group to read every topic whose whole name matches <paramref name="pattern"/> (as in the Java
    /// client: <c>orders</c> takes the topic <c>orders</c>, not <c>old-orders</c>), re-evaluated as
    /// topics appear (on every metadata refresh, <see cref="KafkaClientOptions.MetadataMaxAge"/>). With the classic
    /// protocol the consumer matches names itself (.NET syntax); with <see cref="GroupProtocol.Consumer"/> the pattern
    /// goes to the broker (KIP-848's <c>SubscribedTopicRegex</c>), which evaluates it with RE2/J syntax — keep to the
    /// common subset there.
    /// </summary>
    /// <param name="pattern">The topic-name pattern.</param>
    /// <param name="listener">Told of assigned, revoked and lost partitions (awaited), or null.</param>
    /// <exception cref="InvalidOperationException">No <see cref="KafkaConsumerOptions.GroupId"/>, or partitions were assigned with <see cref="Assign"/>.</exception>
    public void Subscribe(Regex pattern, IConsumerRebalanceListener? listener = null)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        GroupForSubscribe().Subscribe(null, pattern, listener);
    }

    /// <summary>
    /// Leaves the group: the owned partitions are revoked (the listener awaited; with auto-commit, offsets committed)
    /// and a dynamic member sends LeaveGroup. Afterwards the consumer can subscribe again or assign partitions.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (the member still stops).</param>
    /// <returns>When the member has left.</returns>
    public ValueTask UnsubscribeAsync(CancellationToken cancellationToken = default) =>
        _group is null ? ValueTask.CompletedTask : _group.UnsubscribeAsync(cancellationToken);

    /// <summary>
    /// Commits the stored offsets to the group: with <see cref="KafkaConsumerOptions.EnableAutoOffsetStore"/> (the
    /// default) the positions of what the application has consumed; otherwise what it passed to
    /// <see cref="StoreOffset"/>. Only offsets that moved since the last commit are sent. Retries through coordinator
    /// moves until it succeeds, fails for good, or <see cref="KafkaConsumerOptions.DefaultApiTimeout"/> passes.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (whether the coordinator stored the offsets is then unknown).</param>
    /// <returns>When the coordinator has stored the offsets.</returns>
    /// <exception cref="KafkaCommitException">
    /// The commit failed for good (for example, the partitions were reassigned), or did not succeed within
    /// <see cref="KafkaConsumerOptions.DefaultApiTimeout"/> (retriable).
    /// </exception>
    /// <exception cref="InvalidOperationException">No <see cref="KafkaConsumerOptions.GroupId"/>.</exception>
    public ValueTask CommitAsync(CancellationToken cancellationToken = default) => GroupFor("Committing offsets").CommitStoredAsync(cancellationToken);

    /// <summary>
    /// Commits exactly <paramref name="offsets"/> (each the offset of the next record to read, with optional metadata),
    /// for partitions this consumer reads or any other.
    /// </summary>
    /// <param name="offsets">What to commit.</param>
    /// <param name="cancellationToken">Cancels the wait (whether the coordinator stored the offsets is then unknown).</param>
    /// <returns>When the coordinator has stored the offsets.</returns>
    /// <exception cref="KafkaCommitException">
    /// The commit failed for good, or did not succeed within <see cref="KafkaConsumerOptions.DefaultApiTimeout"/> (retriable).
    /// </exception>
    /// <exception cref="InvalidOperationException">No <see cref="KafkaConsumerOptions.GroupId"/>.</exception>
    public ValueTask CommitAsync(IEnumerable<TopicPartitionCommit> offsets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        return GroupFor("Committing offsets").CommitAsync(offsets, cancellationToken);
    }

    /// <summary>
    /// Stores the offset to commit next for a partition (librdkafka's <c>offsets_store</c>): the offset of the next
    /// record to read, i.e. the last processed record's offset + 1. The next commit — automatic or
    /// <see cref="CommitAsync(CancellationToken)"/> — sends it. With <see cref="KafkaConsumerOptions.EnableAutoOffsetStore"/>
    /// on, consumed positions overwrite what is stored here: turn it off to store after processing.
    /// </summary>
    /// <param name="partition">A partition this consumer reads (or, during the revocation callback, gives up).</param>
    /// <param name="offset">The offset of the next record to read.</param>
    /// <exception cref="ArgumentException">The partition is not this consumer's.</exception>
    /// <exception cref="InvalidOperationException">No <see cref="KafkaConsumerOptions.GroupId"/>.</exception>
    public void StoreOffset(TopicPartition partition, long offset) => GroupFor("Storing offsets").StoreOffset(partition, offset);

    /// <summary>The group's committed offsets for <paramref name="partitions"/> (<see cref="TopicPartitionCommit.Offset"/> -1 where none).</summary>
    /// <param name="partitions">The partitions.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>One entry per partition, in the order given.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="KafkaConsumerOptions.GroupId"/>.</exception>
    /// <exception cref="KafkaErrorException">
    /// The coordinator refused the fetch, or it did not succeed within <see cref="KafkaConsumerOptions.DefaultApiTimeout"/>
    /// (retriable, carrying the last error met).
    /// </exception>
    public ValueTask<IReadOnlyList<TopicPartitionCommit>> CommittedAsync(IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        return GroupFor("Reading committed offsets").CommittedAsync([.. partitions], cancellationToken);
    }

    /// <summary>
    /// Moves a partition's position: the next record delivered for it is the one at <paramref name="offset"/> (or the
    /// earliest, latest, or first at a time). Data fetched ahead is dropped. A partition held after an error resumes.
    /// </summary>
    /// <param name="partition">An assigned partition.</param>
    /// <param name="offset">Where to continue.</param>
    /// <exception cref="ArgumentException">The partition is not assigned.</exception>
    public void Seek(TopicPartition partition, OffsetSpec offset) => _fetcher.Seek(partition, offset);

    /// <summary>Stops delivering and fetching the partitions until <see cref="Resume"/>; their positions are kept.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    /// <exception cref="ArgumentException">A partition is not assigned; none of them is paused.</exception>
    public void Pause(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        _fetcher.Pause(partitions);
    }

    /// <summary>Resumes paused partitions from their positions.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    /// <exception cref="ArgumentException">A partition is not assigned; none of them is resumed.</exception>
    public void Resume(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        _fetcher.Resume(partitions);
    }

    /// <summary>The offset of the next record the application will get from the partition, or null while its start position is being looked up.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <returns>The position.</returns>
    /// <exception cref="ArgumentException">The partition is not assigned.</exception>
    public long? Position(TopicPartition partition) => _fetcher.Position(partition);

    /// <summary>The partition's high watermark as of the last Fetch response (for lag), or null before one.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <returns>The high watermark.</returns>
    /// <exception cref="ArgumentException">The partition is not assigned.</exception>
    public long? HighWatermark(TopicPartition partition) => _fetcher.HighWatermark(partition);

    /// <summary>The typed stream of <see cref="KafkaConsumer{TKey, TValue}.ConsumeAsync"/>: records deserialized with the given deserializers.</summary>
    internal async IAsyncEnumerable<ConsumeResult<TKey, TValue>> ConsumeAsync<TKey, TValue>(IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnterConsume();
        try
        {
            while (true)
            {
                var (slice, start) = await NextSliceAsync(cancellationToken).ConfigureAwait(false);
                var cursor = slice.Cursor!;
                var generation = slice.Generation!;
                int count = slice.Count;
                int delivered = start;
                try
                {
                    while (delivered < count && cursor.Generation == generation) // else sought, paused or unassigned meanwhile: the rest is dropped
                    {
                        var result = Materialize(slice, delivered, keyDeserializer, valueDeserializer);
                        generation.Advance(result.Offset + 1, result.LeaderEpoch); // the slice's own generation: a seek since the check replaced it and keeps its position
                        delivered++;
                        yield return result;
                    }
                }
                finally
                {
                    // Every record out (even if the caller stopped after the last one): the position also passes the
                    // control or aborted batches the slice skipped after it.
                    if (delivered == count)
                    {
                        generation.Advance(slice.NextOffset, slice.NextEpoch);
                    }

                    if (delivered < count && cursor.Generation == generation)
                    {
                        // The caller stopped inside the slice: the records it did not get go to the next consume call.
                        slice.Recycle(start, delivered);
                        KeepRest(slice, delivered);
                    }
                    else if (start == 0)
                    {
                        slice.RecycleOwned();
                    }
                    else
                    {
                        slice.RecycleFrom(start);
                    }
                }
            }
        }
        finally
        {
            ExitConsume();
        }
    }

    /// <summary>
    /// The raw path, a batch at a time: up to <see cref="KafkaConsumerOptions.MaxPollRecords"/> records of one
    /// partition whose keys, values and header values are slices of pooled buffers, valid until each record is recycled
    /// or the batch disposed. Dispose the batch when done with it.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for records.</param>
    /// <returns>A batch with at least one record. The partition's position is past its last record.</returns>
    /// <exception cref="ConsumeException">A partition failed; records before it were delivered.</exception>
    public async ValueTask<ConsumeBatch> ConsumeBatchAsync(CancellationToken cancellationToken = default)
    {
        EnterConsume();
        try
        {
            var (slice, start) = await NextSliceAsync(cancellationToken).ConfigureAwait(false);
            slice.Generation!.Advance(slice.NextOffset, slice.NextEpoch); // a retired generation if sought meanwhile: the seek's position stands
            if (KafkaActivities.IsEnabled)
            {
                TraceBatchReceived(slice, start);
            }

            return new ConsumeBatch(slice, start);
        }
        finally
        {
            ExitConsume();
        }
    }

    /// <summary>
    /// The raw path, a record at a time: each record's key, value and header values are slices of pooled buffers,
    /// valid until <see cref="ConsumedRecord.Recycle"/> — recycle every record (a record never recycled is reclaimed by
    /// the GC, but its buffers are lost to the pools).
    /// </summary>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The stream.</returns>
    /// <exception cref="ConsumeException">A partition failed; records before it were delivered.</exception>
    public async IAsyncEnumerable<ConsumedRecord> ConsumeRawAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnterConsume();
        try
        {
            while (true)
            {
                var (slice, start) = await NextSliceAsync(cancellationToken).ConfigureAwait(false);
                var cursor = slice.Cursor!;
                var generation = slice.Generation!;
                int count = slice.Count;
                int next = start;
                try
                {
                    while (next < count && cursor.Generation == generation)
                    {
                        var record = slice[next++];
                        generation.Advance(record.Offset + 1, record.LeaderEpoch);
                        if (KafkaActivities.IsEnabled)
                        {
                            TraceReceived(slice.TopicPartition, record.Offset, record.Headers);
                        }

                        yield return record;
                    }
                }
                finally
                {
                    if (next == count)
                    {
                        generation.Advance(slice.NextOffset, slice.NextEpoch);
                    }

                    if (next < count && cursor.Generation == generation)
                    {
                        KeepRest(slice, next); // the caller stopped inside the slice: the records not handed out go to the next consume call
                    }
                    else
                    {
                        slice.RecycleFrom(next); // records never handed out
                    }
                }
            }
        }
        finally
        {
            ExitConsume();
        }
    }

    /// <summary>
    /// Stops fetching, closes the connections, and releases buffered data. Records already handed out stay valid until
    /// recycled. Idempotent. A group member first revokes, commits (with automatic commits) and leaves; the final commits
    /// and the revocation get at most 30 s (the Java client's default close timeout), whatever
    /// <see cref="KafkaConsumerOptions.DefaultApiTimeout"/> is.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_group is not null)
        {
            await _group.DisposeAsync().ConfigureAwait(false); // revoke, commit and leave while the fetcher still knows the positions
        }

        await _fetcher.DisposeAsync().ConfigureAwait(false);
        if (Interlocked.CompareExchange(ref _consuming, 1, 0) == 0)
        {
            ReleaseHeldData();
        }

        await _cluster.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The next records to hand out: a slice and the index of its first record not handed out yet.</summary>
    private async ValueTask<(RecordSlice Slice, int Start)> NextSliceAsync(CancellationToken cancellationToken)
    {
        _group?.BeforePoll(); // per slice (up to MaxPollRecords records), as the Java client's poll
        if (_rest is { } rest)
        {
            int start = _restStart;
            _rest = null;
            if (rest.Cursor!.Generation == rest.Generation)
            {
                return (rest, start);
            }

            rest.RecycleFrom(start); // sought, paused or unassigned since
        }

        while (true)
        {
            var chunk = _chunk;
            if (chunk is null)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    throw KafkaExceptions.Disposed("The consumer");
                }

                if (!_fetcher.TryTake(out chunk))
                {
                    chunk = await TakeWaitingAsync(cancellationToken).ConfigureAwait(false);
                }

                if (ReferenceEquals(chunk, FetchedPartition.WakeUp))
                {
                    _group?.BeforePoll(); // throws the member's or the listener's failure
                    continue;
                }

                if (chunk.Error is { } error)
                {
                    var errorCursor = chunk.Cursor;
                    var errorGeneration = chunk.Generation;
                    bool current = IsCurrent(chunk);
                    _fetcher.Done(chunk);
                    if (current)
                    {
                        _fetcher.Hold(errorCursor, errorGeneration, error.Offset >= 0 ? error.Offset : errorCursor.Position, error);
                        throw error;
                    }

                    continue;
                }

                if (!IsCurrent(chunk))
                {
                    _fetcher.Done(chunk);
                    continue;
                }

                _chunk = chunk;
                _decoder.Start(chunk);
            }

            var cursor = chunk.Cursor;
            var generation = chunk.Generation;
            if (!IsCurrent(chunk))
            {
                FinishChunk(); // sought, paused or unassigned since: the rest, a pending failure too, belongs to dropped data
                continue;
            }

            if (_decoder.PendingError is { } pending)
            {
                FinishChunk();
                _fetcher.Hold(cursor, generation, pending.Offset, pending);
                throw pending;
            }

            var slice = RecordSlice.Rent(_pools.Records, _pools.RecordSlices, _maxPollRecords, chunk.TopicPartition, cursor, generation);
            long sliceStart = _decoder.NextOffset;
            try
            {
                _decoder.Decode(slice);
            }
            catch (ConsumeException error)
            {
                slice.Seal();
                FinishChunk();
                _fetcher.Hold(cursor, generation, error.Offset, error);
                throw;
            }
            catch (Exception failure)
            {
                // Something other than the data failed (a plugged-in pool, memory): the records decoded into the slice
                // never reach the application, so the slice gives back its records and buffer references now, and the
                // partition is held where the slice started. Without the hold, the next chunk (fetched past this one)
                // would carry on after the records this one still had.
                bool decoded = slice.Count > 0;
                slice.Seal();
                if (decoded)
                {
                    slice.RecycleOwned();
                }

                FinishChunk();
                _fetcher.Hold(cursor, generation, sliceStart, failure);
                throw;
            }

            int count = slice.Count;
            long next = slice.NextOffset;
            int nextEpoch = slice.NextEpoch;
            bool finished = _decoder.IsDone && _decoder.PendingError is null;
            slice.Seal();
            if (finished)
            {
                FinishChunk();
            }

            if (count > 0)
            {
                return (slice, 0);
            }

            generation.Advance(next, nextEpoch); // only control or aborted batches: the position moves past them
        }
    }

    /// <summary>Waits for fetched data; for a group member the wait counts as polling (the max poll interval does not run out on an idle topic).</summary>
    private async ValueTask<FetchedPartition> TakeWaitingAsync(CancellationToken cancellationToken)
    {
        if (_group is null)
        {
            return await _fetcher.TakeAsync(cancellationToken).ConfigureAwait(false);
        }

        _group.AwaitingRecords(true);
        try
        {
            return await _fetcher.TakeAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _group.AwaitingRecords(false);
        }
    }

    /// <summary>A <c>receive</c> span for one record handed out, linked to its producer's span (tracing on only).</summary>
    private void TraceReceived(TopicPartition partition, long offset, RecordHeaders headers)
    {
        var producer = KafkaTraceContext.TryExtract(headers, out var context);
        KafkaActivities.Received(partition.Topic, partition.Partition, offset, 1, _group?.GroupId, _clientId,
            producer ? new ReadOnlySpan<ActivityContext>(in context) : default);
    }

    /// <summary>One <c>receive</c> span for a batch handed out, linked to every producer span its records carry (tracing on only).</summary>
    private void TraceBatchReceived(RecordSlice slice, int start)
    {
        var producers = new List<ActivityContext>();
        for (var i = start; i < slice.Count; i++)
        {
            if (KafkaTraceContext.TryExtract(slice.SlotAt(i).View.Headers, out var context))
            {
                producers.Add(context);
            }
        }

        KafkaActivities.Received(slice.TopicPartition.Topic, slice.TopicPartition.Partition, slice.SlotAt(start).View.Offset, slice.Count - start, _group?.GroupId, _clientId,
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(producers));
    }

    private ConsumerGroup GroupFor(string what) => _group ?? throw KafkaExceptions.NotInGroup(what);

    private ConsumerGroup GroupForSubscribe()
    {
        var group = GroupFor("Subscribing");
        if (!group.IsSubscribed && _fetcher.Assignment().Count > 0)
        {
            throw new InvalidOperationException("This consumer has partitions assigned with Assign: call Unassign before subscribing (one consumer either assigns or subscribes).");
        }

        return group;
    }

    private void ThrowIfSubscribed(string operation)
    {
        if (_group is { IsSubscribed: true })
        {
            throw new InvalidOperationException(operation + " is for manually assigned partitions; this consumer is subscribed and its group assigns them (call UnsubscribeAsync first).");
        }
    }

    private static bool IsCurrent(FetchedPartition chunk) =>
        chunk.Cursor.Generation == chunk.Generation && chunk.Cursor.State != CursorState.Removed;

    /// <summary>Keeps the records of <paramref name="slice"/> from <paramref name="start"/> on for the next consume call.</summary>
    private void KeepRest(RecordSlice slice, int start)
    {
        _rest = slice;
        _restStart = start;
    }

    /// <summary>Gives back the current chunk and the rest of a slice a consume call stopped inside (the consumer is closing).</summary>
    private void ReleaseHeldData()
    {
        var rest = _rest;
        _rest = null;
        rest?.RecycleFrom(_restStart);
        FinishChunk();
    }

    private void FinishChunk()
    {
        var chunk = _chunk;
        _chunk = null;
        _decoder.Stop();
        if (chunk is not null)
        {
            _fetcher.Done(chunk);
        }
    }

    private ConsumeResult<TKey, TValue> Materialize<TKey, TValue>(RecordSlice slice, int index, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer)
    {
        var slot = slice.SlotAt(index);
        var topicPartition = slice.TopicPartition;
        long offset = slot.View.Offset;
        TKey key;
        TValue value;
        var component = RecordComponent.Key;
        try
        {
            key = keyDeserializer.Deserialize(slot.View.Key.Span, slot.View.IsKeyNull,
                new DeserializationContext(topicPartition.Topic, topicPartition.Partition, offset, RecordComponent.Key, slot.View.Headers));
            component = RecordComponent.Value;
            value = valueDeserializer.Deserialize(slot.View.Value.Span, slot.View.IsValueNull,
                new DeserializationContext(topicPartition.Topic, topicPartition.Partition, offset, RecordComponent.Value, slot.View.Headers));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var failure = new ConsumeException(
                "Deserializing the " + (component == RecordComponent.Key ? "key" : "value") + " of " + topicPartition + " at offset " +
                offset.ToString(System.Globalization.CultureInfo.InvariantCulture) + " failed: " + ex.Message +
                " The position stays on the record and the partition is held: seek past it to continue.",
                ConsumeErrorKind.Deserialization, topicPartition, offset, innerException: ex);
            _fetcher.Hold(slice.Cursor!, slice.Generation!, offset, failure);
            throw failure;
        }

        if (KafkaActivities.IsEnabled)
        {
            TraceReceived(topicPartition, offset, slot.View.Headers);
        }

        return new ConsumeResult<TKey, TValue>(topicPartition, offset, new Timestamp(slot.View.Timestamp, slot.TimestampType), slot.LeaderEpoch, key, value, CopyHeaders(slot.View.Headers));
    }

    private static RecordHeader[] CopyHeaders(RecordHeaders headers)
    {
        if (headers.Count == 0)
        {
            return [];
        }

        var copy = new RecordHeader[headers.Count];
        int i = 0;
        foreach (var header in headers)
        {
            copy[i++] = header.IsValueNull ? RecordHeader.WithNullValue(header.Key) : new RecordHeader(header.Key, header.Value.ToArray());
        }

        return copy;
    }

    private void EnterConsume()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw KafkaExceptions.Disposed("The consumer");
        }

        if (Interlocked.CompareExchange(ref _consuming, 1, 0) != 0)
        {
            throw new InvalidOperationException("Another consume call or enumeration is in progress on this consumer: consume from one place at a time.");
        }
    }

    private void ExitConsume()
    {
        Interlocked.Exchange(ref _consuming, 0); // a full fence: DisposeAsync sees the call over, or this sees the disposal
        if (Volatile.Read(ref _disposed) != 0 && Interlocked.CompareExchange(ref _consuming, 1, 0) == 0)
        {
            // Disposed while this call was consuming: DisposeAsync left the current chunk (its frame reference and
            // the decoder's decompressed batch) and the rest of a slice to the call, which gives them back now; the
            // flag stays taken.
            ReleaseHeldData();
        }
    }
}
