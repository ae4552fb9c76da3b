using System.Collections.Concurrent;
using System.Text;
using Messaging.Groups;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A test protocol (type <c>test</c>): announces its name as metadata; the leader assigns each member the bytes
/// "assigned:&lt;member id&gt;:&lt;member count&gt;". Records every callback in order.
/// </summary>
internal sealed class RecordingGroupProtocol(string name) : IClassicGroupProtocol
{
    private readonly Lock _lock = new();
    private readonly List<string> _events = [];

    public string Name { get; } = name;

    public string ProtocolType => "test";

    /// <summary>Member counts the leader saw, one per AssignAsync call that assigned (not skipped).</summary>
    public ConcurrentQueue<int> AssignCalls { get; } = new();

    /// <summary>The last assignment this member received, decoded, and its generation.</summary>
    public (string Assignment, int Generation)? LastAssignment { get; private set; }

    public int Lost => Count("lost");

    public int Prepared => Count("prepare");

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Run inside <see cref="GetProtocols"/> once the protocols are read, when set (a subscription change right after).</summary>
    public Action? ProtocolsRead { get; set; }

    public IReadOnlyList<GroupProtocolMetadata> GetProtocols()
    {
        IReadOnlyList<GroupProtocolMetadata> protocols = [new GroupProtocolMetadata("simple", Encoding.UTF8.GetBytes(Name))];
        ProtocolsRead?.Invoke();
        return protocols;
    }

    /// <summary>Run inside <see cref="AssignAsync"/> before the assignment is made, when set (a leader that takes a while to assign).</summary>
    public Func<IReadOnlyList<GroupMemberMetadata>, CancellationToken, ValueTask>? LeaderAssigning { get; set; }

    public async ValueTask<IReadOnlyDictionary<string, ReadOnlyMemory<byte>>> AssignAsync(string protocol, IReadOnlyList<GroupMemberMetadata> members, bool skipAssignment, CancellationToken cancellationToken)
    {
        if (skipAssignment)
        {
            Record("skipped assignment " + members.Count);
            return new Dictionary<string, ReadOnlyMemory<byte>>();
        }

        AssignCalls.Enqueue(members.Count);
        Record("assign " + members.Count);
        if (LeaderAssigning is { } leaderAssigning)
        {
            await leaderAssigning(members, cancellationToken);
        }

        var result = new Dictionary<string, ReadOnlyMemory<byte>>();
        foreach (var member in members)
        {
            result[member.MemberId] = Encoding.UTF8.GetBytes("assigned:" + member.MemberId + ":" + members.Count);
        }

        return result;
    }

    /// <summary>Run inside <see cref="OnJoinPrepareAsync"/>, when set (a callback that takes a while).</summary>
    public Func<CancellationToken, ValueTask>? Preparing { get; set; }

    public ValueTask OnJoinPrepareAsync(int generation, string memberId, CancellationToken cancellationToken)
    {
        Record("prepare " + generation);
        return Preparing?.Invoke(cancellationToken) ?? ValueTask.CompletedTask;
    }

    /// <summary>Run inside <see cref="OnAssignedAsync"/>, when set (a callback that takes a while).</summary>
    public Func<CancellationToken, ValueTask>? Assigning { get; set; }

    /// <summary>Run inside <see cref="OnLostAsync"/>, when set.</summary>
    public Action? Losing { get; set; }

    public async ValueTask<string?> OnAssignedAsync(string protocol, int generation, ReadOnlyMemory<byte> assignment, CancellationToken cancellationToken)
    {
        LastAssignment = (Encoding.UTF8.GetString(assignment.Span), generation);
        Record("assigned " + generation);
        if (Assigning is { } assigning)
        {
            await assigning(cancellationToken);
        }

        return null;
    }

    public ValueTask OnLostAsync(CancellationToken cancellationToken)
    {
        Record("lost");
        Losing?.Invoke();
        return ValueTask.CompletedTask;
    }

    /// <summary>Run inside <see cref="OnLeavePrepareAsync"/>, when set (a revocation that takes a while).</summary>
    public Func<CancellationToken, ValueTask>? Leaving { get; set; }

    public ValueTask OnLeavePrepareAsync(int generation, string memberId, CancellationToken cancellationToken)
    {
        Record("leave " + generation);
        return Leaving?.Invoke(cancellationToken) ?? ValueTask.CompletedTask;
    }

    private void Record(string e)
    {
        lock (_lock)
        {
            _events.Add(e);
        }
    }

    private int Count(string prefix)
    {
        lock (_lock)
        {
            var n = 0;
            foreach (var e in _events)
            {
                if (e.StartsWith(prefix, StringComparison.Ordinal))
                {
                    n++;
                }
            }

            return n;
        }
    }
}
