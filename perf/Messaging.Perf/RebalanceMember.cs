namespace Messaging.Perf;

/// <summary>
/// One member of a <c>rebalance</c> run's group: subscribed to the topic, reading all the time on its own loop, and
/// reporting its callbacks and deliveries to its <see cref="PartitionWatch"/>.
/// </summary>
internal abstract class RebalanceMember
{
    protected RebalanceMember(PartitionWatch watch) => Watch = watch;

    public PartitionWatch Watch { get; }

    /// <summary>Why the member's loop stopped on its own (an error from the client), or null.</summary>
    public Exception? Failure { get; protected set; }

    /// <summary>Stops the reading loop (not timed): the member is then left or closed by <see cref="LeaveAsync"/>.</summary>
    public abstract Task StopReadingAsync();

    /// <summary>Leaves the group as an application closing its consumer does (revocation, commit, leave) and releases everything.</summary>
    public abstract Task LeaveAsync();
}
