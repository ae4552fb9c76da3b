using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Groups;

/// <summary>
/// What a group member needs to know, validated once: the group, static membership, the three timeouts of the
/// classic protocol, the retry backoff, the clock and the log. The consumer builds it from its options.
/// </summary>
internal sealed record GroupMemberSettings
{
    public GroupMemberSettings(string groupId)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        GroupId = groupId;
    }

    public string GroupId { get; }

    /// <summary>The static member id (KIP-345), or null for a dynamic member.</summary>
    public string? GroupInstanceId { get; init; }

    /// <summary>How long the coordinator keeps a member that sends no heartbeat (<c>session.timeout.ms</c>).</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>How long the coordinator waits for members to rejoin in a rebalance (<c>max.poll.interval.ms</c> in the Java client).</summary>
    public TimeSpan RebalanceTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a classic member heartbeats (<c>heartbeat.interval.ms</c>); KIP-848 members use the broker's interval.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the application may go without polling before the member leaves (<c>max.poll.interval.ms</c>).</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The first wait after a retriable failure (<c>retry.backoff.ms</c>); it doubles up to <see cref="RetryBackoffMax"/>.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between retries (<c>retry.backoff.max.ms</c>), at least <see cref="RetryBackoff"/>.</summary>
    public TimeSpan RetryBackoffMax { get; init; } = DefaultRetryBackoffMax;

    /// <summary><c>retry.backoff.max.ms</c>'s default, 1 s.</summary>
    public static TimeSpan DefaultRetryBackoffMax { get; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a single request to the coordinator may take (<c>request.timeout.ms</c>).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a commit or committed-offset fetch keeps retrying through coordinator moves before it fails
    /// (<c>default.api.timeout.ms</c>); <see cref="TimeSpan.MaxValue"/> for no limit.
    /// </summary>
    public TimeSpan DefaultApiTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The rack of this member (KIP-881 for classic, the RackId field for KIP-848), or null.</summary>
    public string? RackId { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    public bool IsStatic => GroupInstanceId is not null;

    /// <summary>
    /// JoinGroup blocks at the coordinator until the rebalance completes, which can take the whole rebalance timeout;
    /// the Java client waits that long plus 5 s (<c>JOIN_GROUP_TIMEOUT_LAPSE</c>), or the request timeout if longer.
    /// </summary>
    public TimeSpan JoinGroupTimeout => RebalanceTimeout + TimeSpan.FromSeconds(5) > RequestTimeout ? RebalanceTimeout + TimeSpan.FromSeconds(5) : RequestTimeout;

    /// <summary>Fails fast on settings the coordinator would refuse or that cannot work together.</summary>
    public void Validate()
    {
        if (SessionTimeout <= TimeSpan.Zero || HeartbeatInterval <= TimeSpan.Zero || RebalanceTimeout <= TimeSpan.Zero || MaxPollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("Group '" + GroupId + "': the session timeout, heartbeat interval, rebalance timeout and max poll interval must be positive.");
        }

        if (HeartbeatInterval >= SessionTimeout)
        {
            throw new ArgumentException("Group '" + GroupId + "': the heartbeat interval must be lower than the session timeout (the Java client requires the same).");
        }

        if (GroupInstanceId is { Length: 0 })
        {
            throw new ArgumentException("Group '" + GroupId + "': the group instance id must not be empty (null means a dynamic member).");
        }
    }
}
