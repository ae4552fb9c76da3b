using System.Collections.Concurrent;
using System.Diagnostics;
using Messaging.IntegrationTests.Consumer;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A subscribed consumer reading in the background for the group tests: records every (partition, offset) it is
/// handed with the time it came, the partitions its listener was told about, and records handed out after their
/// partition's revocation callback had run.
/// </summary>
internal sealed class GroupReader : IAsyncDisposable, IConsumerRebalanceListener
{
    private readonly Lock _lock = new();
    private readonly HashSet<TopicPartition> _owned = [];

    // Per partition: the callback version of the last assign/revoke/lost seen for it (see DeliveredAfterRevocation).
    private readonly Dictionary<TopicPartition, long> _changedAt = [];
    private readonly Func<GroupReader, ConsumeResult<byte[]?, byte[]?>, ValueTask>? _process;
    private CancellationTokenSource _stop = new();
    private Task _loop;
    private long _callbackVersion;
    private int _disposed;

    public GroupReader(string name, KafkaConsumerOptions options, IEnumerable<string> topics, Func<GroupReader, ConsumeResult<byte[]?, byte[]?>, ValueTask>? process = null)
    {
        Name = name;
        _process = process;
        Consumer = ConsumerTestSupport.Bytes(options);
        Consumer.Subscribe(topics, this);
        _loop = Task.Run(() => ReadAsync(_stop.Token));
    }

    public string Name { get; }

    public KafkaConsumer<byte[]?, byte[]?> Consumer { get; }

    /// <summary>Every record handed out (duplicates kept).</summary>
    public ConcurrentQueue<(TopicPartition Partition, long Offset)> Seen { get; } = new();

    /// <summary>Every record handed out with when it came (Stopwatch ticks), in delivery order.</summary>
    public ConcurrentQueue<(TopicPartition Partition, long Offset, long At)> Deliveries { get; } = new();

    /// <summary>When each partition last delivered a record (Stopwatch ticks).</summary>
    public ConcurrentDictionary<TopicPartition, long> LastDelivery { get; } = new();

    /// <summary>The listener's calls, in order: "assigned N", "revoked N", "lost N".</summary>
    public ConcurrentQueue<string> Events { get; } = new();

    public Exception? Failure { get; private set; }

    /// <summary>
    /// Records of a partition handed out although its revocation (or lost) callback had started before the consume
    /// call that returned them began, with no assignment of it since: exactly what must never happen. A record that a
    /// consume call already held when the callback started is not counted (the callback may run concurrently with
    /// that call's return), so this count has no false positives.
    /// </summary>
    public int DeliveredAfterRevocation;

    public IReadOnlyCollection<TopicPartition> Owned
    {
        get
        {
            lock (_lock)
            {
                return [.. _owned];
            }
        }
    }

    /// <summary>Waits for <paramref name="condition"/> with a deadline; on failure says what each reader owns and went through.</summary>
    public static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken, params GroupReader[] explain)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                Assert.Fail("Timed out after " + timeout.TotalSeconds + " s waiting for: " + what + Environment.NewLine + string.Join(Environment.NewLine, explain.Select(r => r.Describe())));
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>One line about this reader's state, for failure messages.</summary>
    public string Describe()
    {
        var group = Consumer.Consumer.Group!;
        var member = group.ClassicMember is { } classic ? classic.State + " " + classic.Generation : group.Kip848Member?.ToString() ?? "no member";
        return Name + ": " + member + ", owned " + Owned.Count + ", fetching " + Consumer.Assignment.Count + ", read " + Seen.Count + ", events " + string.Join("/", Events)
            + (Failure is null ? "" : ", failed: " + Failure.Message);
    }

    /// <summary>How many callbacks of each kind the listener got.</summary>
    public int Count(string kind) => Events.Count(e => e.StartsWith(kind + " ", StringComparison.Ordinal));

    public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        Change(partitions, owned: true);
        Events.Enqueue("assigned " + partitions.Count);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        Change(partitions, owned: false);
        Events.Enqueue("revoked " + partitions.Count);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        Change(partitions, owned: false);
        Events.Enqueue("lost " + partitions.Count);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopReadingAsync();
        await Consumer.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>Stops reading without leaving the group (as a process that hangs would).</summary>
    public async Task StopReadingAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Reads again after <see cref="StopReadingAsync"/>.</summary>
    public void ResumeReading()
    {
        Assert.True(_loop.IsCompleted, "the reader is still reading");
        _stop.Dispose();
        _stop = new CancellationTokenSource();
        _loop = Task.Run(() => ReadAsync(_stop.Token));
    }

    /// <summary>
    /// Dies without leaving: stops reading and stops the group member's heartbeats (no LeaveGroup, no revocation), as a
    /// crashed process would; the coordinator removes it after the session timeout. Dispose it afterwards.
    /// </summary>
    public async Task KillAsync()
    {
        await StopReadingAsync();
        var group = Consumer.Consumer.Group!;
        if (group.ClassicMember is { } classic)
        {
            await classic.CloseAsync(leaveGroup: false);
        }

        if (group.Kip848Member is { } member)
        {
            await member.CloseAsync(leaveGroup: false);
        }
    }

    private void Change(IReadOnlyCollection<TopicPartition> partitions, bool owned)
    {
        lock (_lock)
        {
            var version = ++_callbackVersion;
            foreach (var partition in partitions)
            {
                _changedAt[partition] = version;
                if (owned)
                {
                    _owned.Add(partition);
                }
                else
                {
                    _owned.Remove(partition);
                }
            }
        }
    }

    private async Task ReadAsync(CancellationToken token)
    {
        try
        {
            await using var records = Consumer.ConsumeAsync(token).GetAsyncEnumerator(token);
            while (true)
            {
                long before;
                lock (_lock)
                {
                    before = _callbackVersion;
                }

                if (!await records.MoveNextAsync())
                {
                    return;
                }

                var record = records.Current;
                var now = Stopwatch.GetTimestamp(); // handed out no later than this (tests compare it with commits seen before)
                lock (_lock)
                {
                    // Revoked (or lost) by a callback that began before this consume call did, and not assigned since.
                    if (!_owned.Contains(record.TopicPartition) && _changedAt.TryGetValue(record.TopicPartition, out var changed) && changed <= before)
                    {
                        DeliveredAfterRevocation++;
                    }
                }

                if (_process is not null)
                {
                    await _process(this, record);
                }

                Seen.Enqueue((record.TopicPartition, record.Offset));
                Deliveries.Enqueue((record.TopicPartition, record.Offset, now));
                LastDelivery[record.TopicPartition] = now;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Failure = ex;
            throw;
        }
    }
}
