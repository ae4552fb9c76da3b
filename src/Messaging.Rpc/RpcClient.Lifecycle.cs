namespace Messaging.Rpc;

/// <summary>The client's life: its start (the reply topic and partitions set up and positioned before any request goes out) and its disposal.</summary>
public sealed partial class RpcClient
{
    /// <summary>
    /// Sets up the reply topic and partitions and waits until they are positioned at their end. Calls start the client
    /// themselves; call this to pay the set-up before the first call, or to see its errors early. Idempotent.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (set-up goes on for later calls).</param>
    /// <exception cref="RpcException">Set-up failed (<see cref="RpcStatus.Unavailable"/>).</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Task start;
        lock (_startLock)
        {
            if (_start is null || _start.IsFaulted || _start.IsCanceled)
            {
                _start = StartCoreAsync();
            }

            start = _start;
        }

        return start.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Refuses new calls, fails every pending call at once (<see cref="RpcStatus.Unavailable"/>), stops the reply
    /// consumer and the producer, deletes a per-instance reply topic, and releases everything. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // First the callers: every pending call ends now, and calls waiting for room or for the start wake up.
        RpcMetrics.Shared.Unregister(_resilience);
        await _disposing.CancelAsync().ConfigureAwait(false);
        _calls.Close();
        _order.Close();
        Task? start;
        lock (_startLock)
        {
            start = _start;
        }

        if (start is not null)
        {
            try
            {
                await start.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A start that failed has nothing more to say during disposal.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        await _replies.DisposeAsync().ConfigureAwait(false);
        await _producer.DisposeAsync().ConfigureAwait(false);
        if (_createdReplyTopic is { } topic)
        {
            try
            {
                using var timeout = new CancellationTokenSource();
                using var far = new FarDeadline(timeout, FarDeadline.After(_time.GetUtcNow(), _options.StartTimeout), _time); // disposed before the source
                await _admin.DeleteTopicsAsync([topic], timeout.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Best effort: the topic is this instance's alone, and the client is going away regardless.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        await _admin.DisposeAsync().ConfigureAwait(false);
        _topics.Clear();
        _methodNames.Clear();
        _chains.Clear();
        _rawChain = null;
        _disposing.Dispose();
    }

    private async Task StartCoreAsync()
    {
        try
        {
            await SetUpRepliesAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException and not RpcException || ex is OperationCanceledException && !_disposing.IsCancellationRequested)
        {
            throw new RpcException(RpcStatus.Unavailable,
                "The RPC client could not set up its replies (" + _options.ReplyMode + ", reply topic " + _options.ReplyTopic + "): " + ex.Message, ex);
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
            // Disposed while starting: the start and the calls waiting for it fail as for any use after disposal.
            throw new ObjectDisposedException(nameof(RpcClient));
        }
    }

    private async Task SetUpRepliesAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
        using var far = new FarDeadline(timeout, FarDeadline.After(_time.GetUtcNow(), _options.StartTimeout), _time); // on the client's clock; disposed before the source
        var token = timeout.Token;
        var topic = _options.ReplyTopic;
        List<TopicPartition> partitions = [];
        int replyPartition;
        switch (_options.ReplyMode)
        {
            case RpcReplyMode.PerInstanceTopic:
                topic = _perInstanceTopic!;
                // Deleted on dispose from here on: a dispose that cancels the creation may come after the broker made
                // the topic (its answer still on the way). The name is this instance's alone; deleting it unmade is harmless.
                _createdReplyTopic = topic;
                await ReplyTopics.CreateAsync(_admin, topic, 1, _options.ReplyTopicReplicationFactor, token).ConfigureAwait(false);
                // Until the metadata shows the new topic it reads as unknown: "create" again (TopicAlreadyExists is
                // fine) and wait, rather than take the lag for a missing topic.
                await ReplyTopics.PartitionCountAsync(_admin, topic, create: true, 1, _options.ReplyTopicReplicationFactor, _time, token).ConfigureAwait(false);
                replyPartition = 0;
                partitions.Add(new TopicPartition(topic, 0));
                break;
            case RpcReplyMode.SharedTopicAllPartitions:
            {
                var count = await ReplyTopics.PartitionCountAsync(_admin, topic, _options.CreateReplyTopic, _options.ReplyTopicPartitions,
                    _options.ReplyTopicReplicationFactor, _time, token).ConfigureAwait(false);
                replyPartition = -1;
                for (var i = 0; i < count; i++)
                {
                    partitions.Add(new TopicPartition(topic, i));
                }

                break;
            }

            default:
            {
                var count = await ReplyTopics.PartitionCountAsync(_admin, topic, _options.CreateReplyTopic, _options.ReplyTopicPartitions,
                    _options.ReplyTopicReplicationFactor, _time, token).ConfigureAwait(false);
                replyPartition = _options.ReplyPartition ?? ReplyTopics.PartitionFor(_options.InstanceId, count);
                if (replyPartition >= count)
                {
                    throw new RpcException(RpcStatus.FailedPrecondition,
                        $"Reply partition {replyPartition} was set, but reply topic {topic} has {count} partitions.");
                }

                partitions.Add(new TopicPartition(topic, replyPartition));
                break;
            }
        }

        await _replies.StartAsync(partitions, token).ConfigureAwait(false);
        if (_options.ReplyMode == RpcReplyMode.SharedTopicAllPartitions)
        {
            // Requests name only partitions the client reads (so a replier that saw partitions added before this client
            // did places no reply where it does not read); those an operator adds later are read, then named, once
            // the client finds them.
            var route = ReplyRoute.AllPartitions(topic, partitions.Count);
            Volatile.Write(ref _route, route);
            _replies.Follow(_admin, topic, partitions.Count, _options.Consumer.MetadataMaxAge, OnReplyPartitionsAdded);
        }
        else
        {
            Volatile.Write(ref _route, new ReplyRoute(topic, replyPartition));
        }
    }

    /// <summary>
    /// Names the reply partitions added to a shared topic in requests from now on: the listener reads them (from their
    /// start) before any reply can be placed there on a request's word. Called by the listener's follower alone.
    /// </summary>
    private void OnReplyPartitionsAdded(int count)
    {
        if (Volatile.Read(ref _route) is { } route)
        {
            Volatile.Write(ref _route, route.WithPartitions(count));
        }
    }
}
