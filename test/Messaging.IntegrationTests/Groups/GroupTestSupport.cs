using Messaging.Cluster;
using Messaging.Groups;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>One group member with everything it stands on (cluster client, coordinator, offsets), disposed together.</summary>
internal sealed class TestMember : IAsyncDisposable
{
    private TestMember(ClusterClient cluster, GroupCoordinator coordinator, RecordingGroupProtocol protocol, ClassicGroupMember member, RecordingLoggerFactory logs)
    {
        Logs = logs;
        Cluster = cluster;
        Coordinator = coordinator;
        Protocol = protocol;
        Member = member;
        Offsets = new GroupOffsets(coordinator);
    }

    public ClusterClient Cluster { get; }

    public GroupCoordinator Coordinator { get; }

    public RecordingGroupProtocol Protocol { get; }

    public ClassicGroupMember Member { get; }

    public GroupOffsets Offsets { get; }

    public RecordingLoggerFactory Logs { get; }

    /// <summary>What this member logged, one line per event (for failure messages).</summary>
    public string Dump()
    {
        var lines = new System.Text.StringBuilder();
        lines.Append(Protocol.Name).Append(": state ").Append(Member.State).Append(", ").Append(Member.Generation).Append(", events ")
            .AppendJoin(" | ", Protocol.Events).AppendLine();
        foreach (var e in Logs.Events)
        {
            lines.Append("  ").Append(e.Level).Append(' ').Append(e.Message).AppendLine();
        }

        return lines.ToString();
    }

    /// <summary>Starts a member of <paramref name="groupId"/> with the test's settings (short session, fast heartbeats).</summary>
    /// <param name="bootstrap">The cluster's bootstrap servers.</param>
    /// <param name="groupId">The group to join.</param>
    /// <param name="name">The member's name (its client id, and the metadata its protocol announces).</param>
    /// <param name="configure">Changes to the test's default member settings.</param>
    /// <param name="protocol">Sets up the member's protocol (its callbacks' hooks) before the member starts.</param>
    public static TestMember Start(string bootstrap, string groupId, string name, Func<GroupMemberSettings, GroupMemberSettings>? configure = null, Action<RecordingGroupProtocol>? protocol = null)
    {
        var cluster = new ClusterClient(new KafkaClientOptions
        {
            BootstrapServers = bootstrap,
            ClientId = name,
            ReconnectBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(400),
            RequestTimeout = TimeSpan.FromSeconds(10),
        });
        var logs = new RecordingLoggerFactory();
        var settings = new GroupMemberSettings(groupId)
        {
            LoggerFactory = logs,
            SessionTimeout = TimeSpan.FromSeconds(4),
            HeartbeatInterval = TimeSpan.FromMilliseconds(300),
            RebalanceTimeout = TimeSpan.FromSeconds(10),
            RequestTimeout = TimeSpan.FromSeconds(10),
            RetryBackoff = TimeSpan.FromMilliseconds(50),
            RetryBackoffMax = TimeSpan.FromMilliseconds(300),
            DefaultApiTimeout = TimeSpan.FromSeconds(15),
        };
        settings = configure?.Invoke(settings) ?? settings;
        var coordinator = new GroupCoordinator(cluster, settings);
        var recording = new RecordingGroupProtocol(name);
        protocol?.Invoke(recording);
        var member = new ClassicGroupMember(coordinator, recording);
        member.Start();
        return new TestMember(cluster, coordinator, recording, member, logs);
    }

    /// <summary>Stops without leaving (as if the process died): no LeaveGroup, heartbeats stop.</summary>
    public async ValueTask CrashAsync()
    {
        await Member.CloseAsync(leaveGroup: false);
        await Coordinator.DisposeAsync();
        await Cluster.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Member.DisposeAsync();
        await Coordinator.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}

internal static class Until
{
    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; fails with <paramref name="what"/> at the deadline.</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan deadline, string what, CancellationToken cancellationToken, params TestMember[] explain)
    {
        var stop = DateTime.UtcNow + deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > stop)
            {
                Assert.Fail("Timed out after " + deadline.TotalSeconds + " s waiting for: " + what + Environment.NewLine + string.Concat(explain.Select(m => m.Dump())));
            }

            await Task.Delay(20, cancellationToken);
        }
    }
}
