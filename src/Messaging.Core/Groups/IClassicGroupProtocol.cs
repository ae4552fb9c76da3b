namespace Messaging.Groups;

/// <summary>
/// What a classic group member (<see cref="ClassicGroupMember"/>) asks of the protocol it carries: the embedded
/// protocol is opaque bytes to the membership layer. The consumer's adapter (protocol type <c>consumer</c>, the
/// assignors and the ConsumerProtocol subscription/assignment codec) implements it; so can any other group user.
/// </summary>
/// <remarks>
/// <para>Every callback runs on the member's join loop, one at a time, never on the heartbeat loop: a slow callback
/// delays the rebalance, not the heartbeats. A callback that must finish before the rebalance timeout (revocation
/// with a commit) should watch its cancellation token, which is cancelled when the member is disposed.</para>
/// <para>Order, per rebalance: <see cref="OnJoinPrepareAsync"/> (previous generation still valid) or
/// <see cref="OnLostAsync"/> (it is gone), then, for the elected leader only, <see cref="AssignAsync"/>, then
/// <see cref="OnAssignedAsync"/> with this member's share. When the member leaves on purpose (disposal),
/// <see cref="OnLeavePrepareAsync"/> runs before the LeaveGroup.</para>
/// </remarks>
internal interface IClassicGroupProtocol
{
    /// <summary>The protocol type every member of the group must share, e.g. <c>consumer</c>.</summary>
    string ProtocolType { get; }

    /// <summary>
    /// This member's protocols (for a consumer: one per assignor) with their metadata (its subscription), most
    /// preferred first, for the next JoinGroup. Called before every join, so the metadata can change between them. If
    /// it throws, the member tries the join again after the retry backoff.
    /// </summary>
    IReadOnlyList<GroupProtocolMetadata> GetProtocols();

    /// <summary>
    /// The leader's job: given the protocol the coordinator chose and every member with its metadata for that
    /// protocol, returns each member's assignment bytes, by member id. Members left out get an empty assignment.
    /// With <paramref name="skipAssignment"/> (KIP-814: a static leader rejoined and the group keeps its assignment)
    /// the leader assigns nothing and returns no assignments, but still takes note of the members' metadata, as the
    /// Java client's <c>onLeaderElected</c> does: a leader watches what the group subscribes to.
    /// </summary>
    ValueTask<IReadOnlyDictionary<string, ReadOnlyMemory<byte>>> AssignAsync(string protocol, IReadOnlyList<GroupMemberMetadata> members, bool skipAssignment, CancellationToken cancellationToken);

    /// <summary>
    /// Before a rejoin while this member's generation is still valid: the protocol revokes what it must (eager:
    /// everything; cooperative: nothing yet) and commits if it wants to.
    /// </summary>
    ValueTask OnJoinPrepareAsync(int generation, string memberId, CancellationToken cancellationToken);

    /// <summary>
    /// A rebalance completed: <paramref name="assignment"/> is this member's share in <paramref name="generation"/>
    /// (bytes the caller may keep: they are copied out of the response). Returns why another rebalance is needed right
    /// away (a cooperative protocol whose partitions had to be revoked first, an assignment it could not use), or null.
    /// </summary>
    ValueTask<string?> OnAssignedAsync(string protocol, int generation, ReadOnlyMemory<byte> assignment, CancellationToken cancellationToken);

    /// <summary>
    /// The member lost its assignment without being able to revoke it cleanly (fenced, its session expired, it left
    /// after the application stopped polling, or it failed for good): no commit is possible for it.
    /// </summary>
    ValueTask OnLostAsync(CancellationToken cancellationToken);

    /// <summary>The member is about to leave the group on purpose (disposal) while its generation is valid: revoke and commit.</summary>
    ValueTask OnLeavePrepareAsync(int generation, string memberId, CancellationToken cancellationToken);
}

/// <summary>One of a member's protocols, as a JoinGroup carries it.</summary>
/// <param name="Name">The protocol name (for a consumer, the assignor's name).</param>
/// <param name="Metadata">The protocol's metadata bytes (for a consumer, the subscription).</param>
internal readonly record struct GroupProtocolMetadata(string Name, ReadOnlyMemory<byte> Metadata);

/// <summary>One member of the group as the leader sees it in the JoinGroup response.</summary>
/// <param name="MemberId">The member id the coordinator gave it.</param>
/// <param name="GroupInstanceId">Its static id, or null for a dynamic member.</param>
/// <param name="Metadata">Its metadata for the chosen protocol (owned by the caller: copied out of the response).</param>
internal readonly record struct GroupMemberMetadata(string MemberId, string? GroupInstanceId, ReadOnlyMemory<byte> Metadata);

/// <summary>A member's generation: the generation id, its member id, and the protocol the coordinator chose.</summary>
/// <param name="GenerationId">The generation, or -1 (none).</param>
/// <param name="MemberId">The member id, or empty (none yet).</param>
/// <param name="ProtocolName">The chosen protocol, or null before the first join.</param>
internal readonly record struct GroupGeneration(int GenerationId, string MemberId, string? ProtocolName)
{
    /// <summary>No generation and no member id: the state before the first join and after a reset.</summary>
    public static GroupGeneration None { get; } = new(-1, "", null);

    /// <summary>True when the generation id and protocol were reset (the member id may have been kept, after ILLEGAL_GENERATION).</summary>
    public bool IsReset => GenerationId == -1 && ProtocolName is null;
}
