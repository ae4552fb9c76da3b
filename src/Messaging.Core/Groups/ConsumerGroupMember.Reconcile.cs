using Messaging.Connection;

namespace Messaging.Groups;

/// <summary>
/// The reconciliation loop of a <see cref="ConsumerGroupMember"/> (KIP-848): it reports partitions the member lost,
/// then moves what it owns towards the target assignment the coordinator sent — revoking, then assigning, each through
/// the application's callbacks — and the next heartbeat tells the coordinator what it owns.
/// </summary>
internal sealed partial class ConsumerGroupMember
{
    private async Task RunReconcileLoopAsync(CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                await _reconcileWake.WaitAsync(Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
                token.ThrowIfCancellationRequested();
                var failures = 0;
                while (!token.IsCancellationRequested && !await ReconcileOnceAsync(token).ConfigureAwait(false))
                {
                    // Some topic ids are not in the metadata yet: refresh and try again. A refresh that fails (brokers
                    // restarting, a request timeout) is tried again after the backoff: letting it end this loop left
                    // the member owning nothing of its target for good, and its close rethrew the error. The backoff
                    // is the group's (up to RetryBackoffMax), as for its other retries: the consumer's RetryBackoff
                    // itself may be TimeSpan.MaxValue, which no timer takes.
                    try
                    {
                        await _coordinator.Cluster.Metadata.RefreshAsync(token).ConfigureAwait(false);
                    }
                    catch (KafkaException ex) when (!token.IsCancellationRequested)
                    {
                        var backoff = ReconnectBackoff.Next(++failures, _settings.RetryBackoff, _settings.RetryBackoffMax);
                        _log.Retrying(GroupId, "metadata for the assignment's topic ids", backoff.TotalMilliseconds, ex.Message);
                        await Task.Delay(backoff, _time, token).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Closing.
        }
    }

    /// <summary>One reconciliation towards the latest target; false when some of its topic ids could not be resolved yet.</summary>
    private async Task<bool> ReconcileOnceAsync(CancellationToken token)
    {
        List<TopicPartition>? lost;
        Dictionary<Guid, int[]>? target;
        int resets;
        lock (_lock)
        {
            lost = _lostToReport;
            _lostToReport = null;
            _reportingLoss = lost is not null;
            target = _target;
            resets = _ownershipResets;
        }

        if (lost is not null)
        {
            try
            {
                if (lost.Count > 0)
                {
                    await CallbackAsync(() => _listener.OnLostAsync(lost, token)).ConfigureAwait(false);
                }
            }
            finally
            {
                Exception? failure;
                lock (_lock)
                {
                    // A rejoin held for this report (see the heartbeat loop) goes out now.
                    _reportingLoss = false;
                    _nextHeartbeatAt = _time.GetUtcNow();
                    failure = _lostToReport is null ? _failure : null;
                }

                _heartbeatWake.Set();
                if (failure is not null)
                {
                    _failed.TrySetResult(failure); // failed: the loss it handed over is reported
                }
            }
        }

        if (target is null)
        {
            return true;
        }

        var names = new Dictionary<Guid, string>();
        foreach (var topic in _coordinator.Cluster.Metadata.Current.Topics.Values)
        {
            names[topic.TopicId] = topic.Name;
        }

        var wanted = new HashSet<(Guid, int)>();
        var resolved = true;
        foreach (var (topicId, partitions) in target)
        {
            foreach (var partition in partitions)
            {
                wanted.Add((topicId, partition));
            }

            resolved &= names.ContainsKey(topicId);
        }

        List<KeyValuePair<(Guid TopicId, int Partition), TopicPartition>> revoked = [];
        List<KeyValuePair<(Guid TopicId, int Partition), TopicPartition>> assigned = [];
        lock (_lock)
        {
            foreach (var owned in _owned)
            {
                if (!wanted.Contains(owned.Key))
                {
                    revoked.Add(owned);
                }
            }

            foreach (var key in wanted)
            {
                if (!_owned.ContainsKey(key) && names.TryGetValue(key.Item1, out var name))
                {
                    assigned.Add(new(key, new TopicPartition(name, key.Item2)));
                }
            }
        }

        // Revoke first, then assign: a partition moving between members is never owned by both.
        if (revoked.Count > 0)
        {
            await CallbackAsync(() => _listener.OnRevokedAsync([.. revoked.Select(static r => r.Value)], token)).ConfigureAwait(false);
            lock (_lock)
            {
                if (_ownershipResets == resets)
                {
                    foreach (var r in revoked)
                    {
                        _owned.Remove(r.Key);
                    }

                    _ownedVersion++;
                }
            }
        }

        if (assigned.Count > 0)
        {
            lock (_lock)
            {
                if (_ownershipResets != resets)
                {
                    return true; // fenced, or left on the poll timeout, meanwhile: this target is void
                }

                foreach (var a in assigned)
                {
                    _owned[a.Key] = a.Value;
                }

                _ownedVersion++;
            }

            await CallbackAsync(() => _listener.OnAssignedAsync([.. assigned.Select(static a => a.Value)], token)).ConfigureAwait(false);
        }

        if (revoked.Count > 0 || assigned.Count > 0)
        {
            // Acknowledge now: the coordinator waits for revocations before it hands the partitions to others.
            lock (_lock)
            {
                _nextHeartbeatAt = _time.GetUtcNow();
            }

            _heartbeatWake.Set();
        }

        return resolved;
    }
}
