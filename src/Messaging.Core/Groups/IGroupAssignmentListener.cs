namespace Messaging.Groups;

/// <summary>
/// What a KIP-848 member (<see cref="ConsumerGroupMember"/>) tells its owner as its assignment changes, in partitions:
/// the same assigned / revoked / lost events the classic protocol's adapter derives from its assignments. Callbacks
/// run one at a time on the member's reconciliation loop, never on its heartbeat loop.
/// </summary>
internal interface IGroupAssignmentListener
{
    /// <summary>Partitions this member now owns (added to what it had).</summary>
    ValueTask OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken);

    /// <summary>Partitions this member gives up cleanly (it may still commit them during the call).</summary>
    ValueTask OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken);

    /// <summary>Partitions this member lost without a chance to commit (fenced, or failed for good).</summary>
    ValueTask OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken);

    /// <summary>
    /// The member could not use what the group gave it (<paramref name="problem"/>, e.g. an assignment it cannot read).
    /// It goes on and rejoins by itself; the application is told, as the Java client's poll throws the error.
    /// </summary>
    void OnAssignmentFailed(string problem, Exception? cause);

    /// <summary>
    /// A method of a partition assignor (<paramref name="method"/>) threw; <paramref name="consequence"/> says what the
    /// member does instead (it goes on). The application is told, as the Java client's poll throws the error.
    /// </summary>
    void OnAssignorFailed(string assignor, string method, string consequence, Exception cause);
}
