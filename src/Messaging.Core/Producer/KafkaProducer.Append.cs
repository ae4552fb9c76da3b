using Messaging.Partitioners;
using Messaging.Producer;
using Messaging.Records;

namespace Messaging;

/// <summary>
/// Appending a record to its partition's open batch, for every produce call of <see cref="KafkaProducer"/>: the
/// partition choice, the lock-free fast path, and the slow path that waits for metadata or memory.
/// </summary>
public sealed partial class KafkaProducer
{
    /// <summary>
    /// Appends one record from the lane: waits (asynchronously) for its topic's metadata and for memory, until its
    /// wait deadline (<see cref="ProducerSettings.AppendWaitLimit"/> from its call), then appends it into a batch
    /// whose delivery deadline is no later than the record's. Completes or fails the entry.
    /// </summary>
    private async ValueTask AppendWaitingAsync(ProduceLane.Entry entry, CancellationToken stopping)
    {
        if (entry.CancellationToken.IsCancellationRequested)
        {
            entry.Fail(new OperationCanceledException(entry.CancellationToken)); // the caller stopped waiting before it was buffered
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, entry.CancellationToken);
        while (true)
        {
            var remaining = _settings.Clock.Until(entry.WaitDeadlineTicks);
            var outcome = TryAppendOwned(entry.Topic, entry.Key.Span, entry.Value.Span, entry.Nulls, entry.Headers, entry.Partition, entry.TimestampMs, entry.Promise,
                entry.DeliveryDeadlineTicks, out var slow);
            if (outcome == Outcome.Appended)
            {
                entry.Appended();
                return;
            }

            if (outcome == Outcome.NeedsMetadata)
            {
                if (remaining <= TimeSpan.Zero)
                {
                    entry.Fail(WaitExpired(entry));
                    return;
                }

                await _topics.EnsureTopicAsync(entry.Topic, remaining, linked.Token).ConfigureAwait(false);
                continue;
            }

            if (outcome == Outcome.NeedsPartition)
            {
                await _topics.EnsurePartitionAsync(entry.Topic, entry.Partition, remaining, linked.Token).ConfigureAwait(false);
                continue;
            }

            _senders.WakeAll();
            var buffer = remaining > TimeSpan.Zero
                ? await _pool.RentAsync(slow.MinimumSize, slow.PreferredSize, remaining, slow.Partition, linked.Token).ConfigureAwait(false)
                : null;
            if (buffer is null)
            {
                entry.Fail(NoMemory(entry.Topic, slow));
                return;
            }

            var rented = HeaderSpan(entry.Headers, out var span);
            bool appended;
            try
            {
                appended = _accumulator.AppendWithBuffer(slow.Partition!, buffer, entry.TimestampMs, entry.Key.Span, entry.Value.Span, span, entry.Nulls, entry.Promise, null, slow.RecordSize,
                    entry.DeliveryDeadlineTicks, out var wake);
                wake.Notify();
            }
            finally
            {
                ReturnHeaders(rented);
            }

            if (!appended)
            {
                continue; // the topic was dropped as idle meanwhile: place the record as the topic's first
            }

            entry.Appended();
            return;
        }
    }

    private Outcome TryAppendOwned(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls, IReadOnlyList<RecordHeader>? headers,
        int partition, long timestampMs, DeliveryPromise promise, long callDeadlineTicks, out SlowPath slow)
    {
        var rented = HeaderSpan(headers, out var span);
        try
        {
            return TryAppend(topic, key, value, nulls, span, partition, timestampMs, promise, null, callDeadlineTicks, out slow);
        }
        finally
        {
            ReturnHeaders(rented);
        }
    }

    /// <summary>
    /// The hot path: pick the partition, append, wake the sender if a batch started or filled. Allocates nothing
    /// when the topic is known and the open batch (or the pool) has room; otherwise says what to wait for.
    /// <paramref name="callDeadlineTicks"/>: the record's delivery deadline from its call if it waited, else 0.
    /// </summary>
    private Outcome TryAppend(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls, ReadOnlySpan<RecordHeader> headers,
        int partition, long timestampMs, object? target, object? state, long callDeadlineTicks, out SlowPath slow)
    {
        if (_producerId.Fatal is { } fatal)
        {
            throw ProducerErrors.Fatal(new TopicPartition(topic, partition), fatal);
        }

        var requested = partition;
        var topicState = _accumulator.GetOrAddTopic(topic);
        var partitions = topicState.Partitions;
        if (partitions.Length == 0)
        {
            slow = default;
            return Outcome.NeedsMetadata;
        }

        var keyLength = (nulls & RecordNulls.Key) != 0 ? -1 : key.Length;
        var valueLength = (nulls & RecordNulls.Value) != 0 ? -1 : value.Length;
        var recordSize = ProducerBatch.MaxRecordSize(keyLength, valueLength, headers);
        if (recordSize + RecordBatchLayout.HeaderSize > _settings.MaxRequestSize)
        {
            throw ProducerErrors.RecordTooLarge(topic, partition, recordSize + RecordBatchLayout.HeaderSize, "max.request.size", _settings.MaxRequestSize);
        }

        var sticky = false;
        var chosen = partition < 0;
        if (chosen)
        {
            partition = ChoosePartition(topicState, key, (nulls & RecordNulls.Key) != 0, partitions, out sticky);
            if (sticky && _custom is null && (partitions[partition].Open is null || partitions[partition].Sender is null))
            {
                // KIP-480: the sticky partition moves on with every new batch, not only when one fills up. At a modest
                // rate batches go out long before they fill, and every record without a key would stay on one partition.
                // It leaves a partition that lost its leader too: its batch would fill up there, and wait.
                topicState.Sticky.OnNewBatch(partition, partitions);
                partition = topicState.Sticky.Current(partitions);
            }
        }
        else if (partition >= partitions.Length)
        {
            slow = default;
            return Outcome.NeedsPartition; // the topic may have grown since its metadata was fetched
        }

        while (true)
        {
            var state0 = partitions[partition];
            var status = _accumulator.TryAppend(state0, timestampMs, key, value, headers, nulls, target, state, sticky, recordSize, callDeadlineTicks, out var wake);
            wake.Notify();
            switch (status)
            {
                case AppendStatus.Appended:
                    slow = default;
                    return Outcome.Appended;
                case AppendStatus.NewBatchRequired:
                    // KIP-480: the sticky partition's batch is full; move on and place the record again.
                    if (_custom is not null)
                    {
                        _custom.OnNewBatch(topic, partition, partitions.Length);
                    }
                    else
                    {
                        topicState.Sticky.OnNewBatch(partition, partitions);
                    }

                    partition = ChoosePartition(topicState, key, (nulls & RecordNulls.Key) != 0, partitions, out _);
                    sticky = false;
                    continue;
                case AppendStatus.PartitionRemoved:
                    // The topic was created again with fewer partitions since they were read: place the record on those it has now.
                    partitions = topicState.Partitions;
                    if (!chosen)
                    {
                        if (partition >= partitions.Length)
                        {
                            slow = default;
                            return Outcome.NeedsPartition; // refused as any partition the topic does not have
                        }

                        continue;
                    }

                    partition = ChoosePartition(topicState, key, (nulls & RecordNulls.Key) != 0, partitions, out sticky);
                    continue;
                case AppendStatus.TopicRetired:
                    // The producer dropped the topic as idle since its state was read: place the record on the topic's
                    // new state, as a first record to it (it waits for the topic's metadata).
                    return TryAppend(topic, key, value, nulls, headers, requested, timestampMs, target, state, callDeadlineTicks, out slow);
                default:
                    slow = new SlowPath(state0, _accumulator.PreferredBufferSize(state0, recordSize), recordSize);
                    return Outcome.NeedsMemory;
            }
        }
    }

    private int ChoosePartition(TopicState topic, ReadOnlySpan<byte> key, bool keyIsNull, PartitionState[] partitions, out bool sticky)
    {
        var count = partitions.Length;
        if (_custom is not null)
        {
            sticky = true;
            var chosen = _custom.Partition(topic.Name, key, keyIsNull, count);
            if ((uint)chosen >= (uint)count)
            {
                throw new InvalidOperationException("The custom partitioner returned partition " + chosen.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    + " for topic " + topic.Name + ", which has " + count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " partitions.");
            }

            return chosen;
        }

        switch (_settings.Partitioner)
        {
            case PartitionerKind.Murmur2Random when !keyIsNull:
            case PartitionerKind.Murmur2:
                sticky = false;
                return Murmur2.Partition(key, count);
            default:
                sticky = true;
                return topic.Sticky.Current(partitions);
        }
    }

    private ProduceException NoMemory(string topic, SlowPath slow) =>
        slow.MinimumSize > _settings.BufferMemory
            ? ProducerErrors.RecordTooLarge(topic, slow.Partition!.Partition, slow.RecordSize, "buffer.memory", _settings.BufferMemory)
            : slow.Partition!.Removed
            ? ProducerErrors.PartitionRemoved(slow.Partition.TopicPartition, slow.Partition.Topic.Partitions.Length)
            : Volatile.Read(ref _disposed) != 0 || _accumulator.IsClosed
                ? ProducerErrors.Disposed(new TopicPartition(topic, slow.Partition!.Partition), null)
                : ProducerErrors.BufferExhausted(topic, slow.Partition!.Partition, _settings.BufferMemory, _settings.AppendWaitLimit);

    /// <summary>The error for a record whose wait ran out before it could be appended: it waited for its topic's metadata, or for memory.</summary>
    private ProduceException WaitExpired(ProduceLane.Entry entry) => WaitError(entry.Topic, entry.Partition, entry.Topic);
}
