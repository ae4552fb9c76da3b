using Messaging.Cluster;
using Messaging.Errors;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>
/// Waits for a topic's first usable metadata on behalf of a record that cannot be placed yet, and routes the
/// topic's partitions to their senders once it has it.
/// </summary>
internal sealed class TopicMetadataWaiter
{
    /// <summary>The pause before asking again for a topic's metadata after the cluster could not be reached.</summary>
    private static readonly TimeSpan MetadataRetryPause = TimeSpan.FromMilliseconds(50);

    private readonly RecordAccumulator _accumulator;
    private readonly MetadataRefresher _metadata;
    private readonly BrokerSenders _senders;
    private readonly ProducerSettings _settings;

    /// <param name="accumulator">Where the topic's state lives.</param>
    /// <param name="metadata">Where metadata comes from.</param>
    /// <param name="senders">Routes the topic's partitions once its metadata arrived.</param>
    /// <param name="settings">The clock the wait counts on, and the wait limit the timeout error names.</param>
    public TopicMetadataWaiter(RecordAccumulator accumulator, MetadataRefresher metadata, BrokerSenders senders, ProducerSettings settings)
    {
        _accumulator = accumulator;
        _metadata = metadata;
        _senders = senders;
        _settings = settings;
    }

    /// <summary>
    /// The topic with its partitions, waiting (up to <paramref name="maxWait"/>) for its first metadata. Metadata
    /// that lists the topic with an error or without partitions is asked for again until the deadline; no wait
    /// inside goes past it. While it waits the topic is not dropped as idle (<see cref="RecordAccumulator.AcquireTopic"/>).
    /// </summary>
    /// <exception cref="ProduceException">No usable metadata within the time (<see cref="ProduceErrorKind.MetadataTimeout"/>), or
    /// the metadata refuses the topic for good (<see cref="RefusesTopic"/>: <see cref="ProduceErrorKind.Broker"/> with its code, at once).</exception>
    public async ValueTask<TopicState> EnsureTopicAsync(string topic, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var state = _accumulator.GetOrAddTopic(topic);
        if (state.HasMetadata)
        {
            return state;
        }

        state = _accumulator.AcquireTopic(topic);
        try
        {
            return await WaitForMetadataAsync(state, maxWait, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _accumulator.ReleaseTopic(state);
        }
    }

    private async ValueTask<TopicState> WaitForMetadataAsync(TopicState state, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var topic = state.Name;
        var clock = _settings.Clock;
        var started = clock.Now;
        var lastCode = ErrorCode.None;
        Exception? lastError = null;
        var first = true;
        while (true)
        {
            var remaining = maxWait - clock.Since(started);
            if (remaining <= TimeSpan.Zero && !first)
            {
                throw ProducerErrors.MetadataTimeout(topic, _settings.AppendWaitLimit, lastCode, lastError);
            }

            try
            {
                var wait = remaining > TimeSpan.Zero ? Clock.TimerDelay(remaining) : TimeSpan.FromMilliseconds(1); // no limit (TimeSpan.MaxValue): infinite
                var cached = first ? _metadata.Current : null;
                var metadata = first
                    ? await _metadata.EnsureTopicsAsync([topic], cancellationToken).WaitAsync(wait, clock.Provider, cancellationToken).ConfigureAwait(false)
                    : await _metadata.RefreshAsync(cancellationToken).WaitAsync(wait, clock.Provider, cancellationToken).ConfigureAwait(false);
                if (metadata.Topics.TryGetValue(topic, out var info) && info.Error == ErrorCode.None && info.Partitions.Count > 0)
                {
                    _senders.Apply(metadata);
                    if (state.HasMetadata)
                    {
                        return state;
                    }
                }

                if (info is not null && RefusesTopic(info.Error) && !ReferenceEquals(metadata, cached))
                {
                    // Fresh metadata refuses the topic: waiting cannot help. (Metadata we already had is asked for again
                    // first, as the Java client's send() asks: rights may have been granted since.)
                    throw ProducerErrors.Broker(new TopicPartition(topic, -1), info.Error, null);
                }

                lastCode = info?.Error ?? ErrorCode.UnknownTopicOrPartition;
            }
            catch (TimeoutException ex)
            {
                lastError = ex;
            }
            catch (KafkaException ex) when (ex is not ProduceException)
            {
                // The cluster is unreachable: ask again shortly (the refresher spaces the requests), never past the deadline.
                lastError = ex;
                var pause = maxWait - clock.Since(started);
                if (pause > TimeSpan.Zero)
                {
                    await clock.Delay(pause < MetadataRetryPause ? pause : MetadataRetryPause, cancellationToken).ConfigureAwait(false);
                }
            }

            first = false;
        }
    }

    /// <summary>
    /// Makes sure the topic, whose metadata is known, has <paramref name="partition"/>: the topic may have grown since
    /// its metadata was fetched, so a partition beyond it is looked for in fresh metadata (waited for at most
    /// <paramref name="maxWait"/>) before it is refused.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The fresh metadata does not list the partition either (or did not come in time).</exception>
    public async ValueTask EnsurePartitionAsync(string topic, int partition, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var state = _accumulator.GetOrAddTopic(topic);
        if (partition < state.Partitions.Length)
        {
            return;
        }

        try
        {
            var wait = maxWait > TimeSpan.Zero ? Clock.TimerDelay(maxWait) : TimeSpan.FromMilliseconds(1);
            _senders.Apply(await _metadata.RefreshAsync(cancellationToken).WaitAsync(wait, _settings.Clock.Provider, cancellationToken).ConfigureAwait(false));
        }
        catch (TimeoutException)
        {
            // Refused below, on what is known.
        }
        catch (KafkaException ex) when (ex is not ProduceException)
        {
            // The cluster is unreachable: refused below, on what is known.
        }

        var count = state.Partitions.Length;
        if (partition >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(partition), partition,
                "Topic " + topic + " has " + count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " partitions.");
        }
    }

    /// <summary>
    /// Whether a topic error in metadata refuses the topic for good — no rights to it, or an invalid name — so a record
    /// for it fails at once, as the Java client's send() throws these; other errors (the topic not created yet, no
    /// leader yet) are waited out, up to max.block.ms.
    /// </summary>
    public static bool RefusesTopic(ErrorCode code) => code is ErrorCode.TopicAuthorizationFailed or ErrorCode.InvalidTopicException;

    /// <summary>The error the current metadata reports for <paramref name="topic"/> (<see cref="ErrorCode.None"/> when it has none or does not list it).</summary>
    public ErrorCode LastMetadataError(string topic) =>
        _metadata.Current.Topics.TryGetValue(topic, out var info) ? info.Error : ErrorCode.None;
}
