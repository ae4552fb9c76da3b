namespace Messaging.Rpc;

/// <summary>
/// One assigned request partition: its offset tracker, what was last committed, and — once revoked — a wait for its
/// requests still in flight. Created when the partition is assigned and forgotten when it is revoked; requests still
/// running then complete into the forgotten tracker, which nothing commits any more.
/// </summary>
internal sealed class PartitionState
{
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _revoked;

    public PartitionState(TopicPartition topicPartition) => TopicPartition = topicPartition;

    public TopicPartition TopicPartition { get; }

    public OffsetTracker Tracker { get; } = new();

    /// <summary>The offset last committed (-1 for none yet); touched only under the server's commit lock.</summary>
    public long Committed { get; set; } = -1;

    public bool IsRevoked => Volatile.Read(ref _revoked) != 0;

    /// <summary>
    /// Set when the partition was sought to an offset looked up (the log's start, after its position fell out of the
    /// log's range): its next batch's first offset is where <see cref="Tracker"/> takes offsets again. The loop's only.
    /// </summary>
    public bool RewindPending { get; set; }

    public void Enter() => Interlocked.Increment(ref _inFlight);

    /// <summary>A request of this partition finished; the last one after revocation ends the drain.</summary>
    public void Exit()
    {
        // Dekker with Revoke: each side writes (full fence) before reading the other's flag, so at least one sees both.
        if (Interlocked.Decrement(ref _inFlight) == 0 && IsRevoked)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Marks the partition revoked; the task completes when no request of it is in flight.</summary>
    public Task RevokeAsync()
    {
        Interlocked.Exchange(ref _revoked, 1);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            _drained.TrySetResult();
        }

        return _drained.Task;
    }
}
