using System.Globalization;
using Messaging.Groups.Assignors;

namespace Messaging.Groups;

/// <summary>
/// The consumer's classic group protocol (protocol type <c>consumer</c>): subscriptions and assignments in the Java
/// client's ConsumerProtocol encoding, assignments computed on the leader by the configured assignors, and the eager
/// or cooperative revocation rules of the Java client's <c>ConsumerCoordinator</c>. The consumer sees the outcome
/// through one <see cref="IGroupAssignmentListener"/>, the same one the KIP-848 member reports to.
/// </summary>
/// <remarks>
/// The membership calls every method on its join loop, one at a time; <see cref="Owned"/> may be read from any thread,
/// so the owned set is swapped under a lock, never changed in place while a reader could see it.
/// </remarks>
internal sealed class ClassicConsumerProtocol : IClassicGroupProtocol
{
    private readonly IReadOnlyList<IConsumerPartitionAssignor> _assignors;
    private readonly Func<IReadOnlyCollection<string>> _subscription;
    private readonly Func<IReadOnlyCollection<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, int>>> _partitionCounts;
    private readonly IGroupAssignmentListener _listener;
    private readonly string? _rackId;
    private readonly Lock _lock = new();
    private HashSet<TopicPartition> _owned = [];
    private int _generation = -1;

    /// <param name="assignors">The assignors, most preferred first (each becomes one protocol of the JoinGroup).</param>
    /// <param name="subscription">The topics the consumer subscribes to now (read before every join).</param>
    /// <param name="partitionCounts">The leader's view of the subscribed topics' partition counts (from metadata).</param>
    /// <param name="listener">Told what is assigned, revoked and lost.</param>
    /// <param name="rackId">The consumer's rack (<c>client.rack</c>), sent in the subscription, or null.</param>
    public ClassicConsumerProtocol(
        IReadOnlyList<IConsumerPartitionAssignor> assignors,
        Func<IReadOnlyCollection<string>> subscription,
        Func<IReadOnlyCollection<string>, CancellationToken, ValueTask<IReadOnlyDictionary<string, int>>> partitionCounts,
        IGroupAssignmentListener listener,
        string? rackId = null)
    {
        ArgumentNullException.ThrowIfNull(assignors);
        if (assignors.Count == 0)
        {
            throw new ArgumentException("A consumer group needs at least one partition assignor.", nameof(assignors));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var assignor in assignors)
        {
            if (!names.Add(assignor.Name))
            {
                throw new ArgumentException("Two partition assignors are named '" + assignor.Name + "'; each name is one protocol of the group.", nameof(assignors));
            }
        }

        _assignors = assignors;
        _subscription = subscription;
        _partitionCounts = partitionCounts;
        _listener = listener;
        _rackId = rackId;
        RebalanceProtocol = CommonProtocol(assignors);
    }

    /// <inheritdoc />
    public string ProtocolType => "consumer";

    /// <summary>
    /// Cooperative when every assignor supports it, eager otherwise (the Java client's rule: with its default
    /// <c>[range, cooperative-sticky]</c> a group stays eager until range is removed, the documented upgrade path).
    /// </summary>
    public RebalanceProtocol RebalanceProtocol { get; }

    /// <summary>The partitions this member owns now (a snapshot).</summary>
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

    /// <inheritdoc />
    public IReadOnlyList<GroupProtocolMetadata> GetProtocols()
    {
        var topics = new List<string>(_subscription());
        topics.Sort(StringComparer.Ordinal);
        List<TopicPartition> owned;
        int generation;
        lock (_lock)
        {
            owned = [.. _owned];
            generation = _generation;
        }

        var protocols = new List<GroupProtocolMetadata>(_assignors.Count);
        foreach (var assignor in _assignors)
        {
            ReadOnlyMemory<byte>? userData;
            try
            {
                userData = assignor.GetSubscriptionUserData(topics);
            }
            catch (Exception ex)
            {
                // Java's poll throws it from the join; the member tries the join again after the backoff.
                _listener.OnAssignorFailed(assignor.Name, nameof(IConsumerPartitionAssignor.GetSubscriptionUserData), "The member tries the rebalance again after a backoff", ex);
                throw;
            }

            var subscription = new ConsumerSubscription(topics)
            {
                UserData = userData,
                OwnedPartitions = owned,
                GenerationId = generation,
                RackId = _rackId,
            };
            protocols.Add(new GroupProtocolMetadata(assignor.Name, ConsumerProtocol.SerializeSubscription(subscription)));
        }

        return protocols;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, ReadOnlyMemory<byte>>> AssignAsync(string protocol, IReadOnlyList<GroupMemberMetadata> members, bool skipAssignment, CancellationToken cancellationToken)
    {
        // The coordinator picks a protocol every member listed, so ours is among them.
        var assignor = Find(protocol) ?? throw new InvalidOperationException("The group chose protocol '" + protocol + "', which this consumer did not offer.");
        var subscriptions = new Dictionary<string, ConsumerSubscription>(StringComparer.Ordinal);
        var topics = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            ConsumerSubscription decoded;
            try
            {
                decoded = member.Metadata.IsEmpty ? new ConsumerSubscription([]) : ConsumerProtocol.DeserializeSubscription(member.Metadata.Span);
            }
            catch (KafkaProtocolException ex)
            {
                // Java's poll throws it from the leader's join (a SchemaException); the leader rejoins after the backoff.
                // Logged only, the group never formed and the application was never told why.
                _listener.OnAssignmentFailed("the subscription of member '" + member.MemberId + "' cannot be read", ex);
                throw;
            }


            // The static id comes from the JoinGroup response, not from the subscription bytes.
            subscriptions[member.MemberId] = new ConsumerSubscription(decoded.Topics)
            {
                UserData = decoded.UserData,
                OwnedPartitions = decoded.OwnedPartitions,
                GenerationId = decoded.GenerationId,
                RackId = decoded.RackId,
                GroupInstanceId = member.GroupInstanceId,
            };
            foreach (var topic in decoded.Topics)
            {
                topics.Add(topic);
            }
        }

        // Read even when the assignment is skipped: the counts read here are what the leader watches for changes.
        var counts = await _partitionCounts(topics, cancellationToken).ConfigureAwait(false);
        if (skipAssignment)
        {
            return new Dictionary<string, ReadOnlyMemory<byte>>();
        }

        IReadOnlyDictionary<string, ConsumerAssignment> assignments;
        try
        {
            assignments = assignor.Assign(new AssignorClusterView(counts), subscriptions);
        }
        catch (Exception ex)
        {
            // Java's poll throws it from the leader's join; the leader rejoins after the backoff. Logged only, a group
            // whose assignor keeps failing never formed and the application was never told.
            _listener.OnAssignorFailed(assignor.Name, nameof(IConsumerPartitionAssignor.Assign), "The leader tries the rebalance again after a backoff", ex);
            throw;
        }

        if (RebalanceProtocol == RebalanceProtocol.Cooperative && assignor is not CooperativeStickyAssignor)
        {
            ValidateCooperative(assignor.Name, subscriptions, assignments);
        }

        var result = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            var assignment = assignments.TryGetValue(member.MemberId, out var given) ? given : new ConsumerAssignment([]);
            result[member.MemberId] = ConsumerProtocol.SerializeAssignment(assignment);
        }

        return result;
    }

    /// <inheritdoc />
    public async ValueTask OnJoinPrepareAsync(int generation, string memberId, CancellationToken cancellationToken)
    {
        // Java's ConsumerCoordinator.onJoinPrepare: eager revokes everything before rejoining; cooperative revokes only
        // what the subscription no longer covers and keeps consuming the rest through the rebalance.
        List<TopicPartition> revoked;
        lock (_lock)
        {
            if (RebalanceProtocol == RebalanceProtocol.Eager)
            {
                revoked = [.. _owned];
                _owned = [];
            }
            else
            {
                revoked = NotSubscribed(_owned);
                if (revoked.Count > 0)
                {
                    _owned = [.. Except(_owned, revoked)];
                }
            }
        }

        if (revoked.Count > 0)
        {
            await _listener.OnRevokedAsync(revoked, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<string?> OnAssignedAsync(string protocol, int generation, ReadOnlyMemory<byte> assignment, CancellationToken cancellationToken)
    {
        // An empty assignment is "no partitions" (librdkafka sends none for a member the leader left out).
        ConsumerAssignment decoded;
        try
        {
            decoded = assignment.IsEmpty ? new ConsumerAssignment([]) : ConsumerProtocol.DeserializeAssignment(assignment.Span);
        }
        catch (KafkaProtocolException ex)
        {
            // Java's onJoinComplete throws it to the application's poll. The member keeps what it owned (nothing, when
            // eager) and rejoins for an assignment it can use.
            var problem = "the assignment received for generation " + generation.ToString(CultureInfo.InvariantCulture) + " cannot be read";
            _listener.OnAssignmentFailed(problem, ex);
            return problem;
        }

        if (NotSubscribed(decoded.Partitions) is [var first, ..])
        {
            var topic = first.Topic;
            // Java's onJoinComplete: the subscription changed since the join (or the leader assigned against it). Take
            // nothing, keep what was owned, and rejoin with the current subscription.
            return "the assignment received for generation " + generation.ToString(CultureInfo.InvariantCulture) + " has topic '" + topic +
                "', which does not match the current subscription; rejoining with the current subscription";
        }

        if (Find(protocol) is { } assignor)
        {
            try
            {
                assignor.OnAssignment(decoded, generation);
            }
            catch (Exception ex)
            {
                // Java's invokeOnAssignment: the assignor's error goes to the application's poll, and the assignment is
                // taken all the same. Thrown from here, the member went on in the new generation with the partitions
                // of the old one: a revoked one still read here, an assigned one read by nobody.
                _listener.OnAssignorFailed(assignor.Name, nameof(IConsumerPartitionAssignor.OnAssignment), "The member took its assignment without it", ex);
            }
        }
        var assigned = new HashSet<TopicPartition>(decoded.Partitions);
        List<TopicPartition> revoked;
        List<TopicPartition> added;
        lock (_lock)
        {
            revoked = [.. Except(_owned, assigned)];
            added = [.. Except(assigned, _owned)];
            _owned = assigned;
            _generation = generation;
        }

        // Java's onJoinComplete: revoked first (cooperative only: eager owned nothing by now), then the newly assigned
        // (called even when empty, as Java does). A cooperative member that gave partitions up rejoins at once, so the
        // leader can hand them to their new owners in the next round.
        if (revoked.Count > 0)
        {
            await _listener.OnRevokedAsync(revoked, cancellationToken).ConfigureAwait(false);
        }

        await _listener.OnAssignedAsync(added, cancellationToken).ConfigureAwait(false);
        return RebalanceProtocol == RebalanceProtocol.Cooperative && revoked.Count > 0
            ? "partitions were revoked (cooperative): the leader can assign them to their new owners now"
            : null;
    }

    /// <inheritdoc />
    public async ValueTask OnLostAsync(CancellationToken cancellationToken)
    {
        List<TopicPartition> lost;
        lock (_lock)
        {
            lost = [.. _owned];
            _owned = [];
            _generation = -1;
        }

        if (lost.Count > 0)
        {
            await _listener.OnLostAsync(lost, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask OnLeavePrepareAsync(int generation, string memberId, CancellationToken cancellationToken)
    {
        List<TopicPartition> revoked;
        lock (_lock)
        {
            revoked = [.. _owned];
            _owned = [];
        }

        if (revoked.Count > 0)
        {
            await _listener.OnRevokedAsync(revoked, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Java's <c>validateCooperativeAssignment</c>, for assignors other than the built-in cooperative-sticky one: no
    /// partition may go from its owner straight to another member in one rebalance (it is revoked in one and assigned
    /// in the next), or two members could read it at once. A violation fails the leader's assignment with a clear
    /// error, for the application too; the member rejoins.
    /// </summary>
    private void ValidateCooperative(string assignor, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions, IReadOnlyDictionary<string, ConsumerAssignment> assignments)
    {
        var revoked = new HashSet<TopicPartition>();
        var added = new HashSet<TopicPartition>();
        foreach (var (memberId, subscription) in subscriptions)
        {
            IReadOnlyList<TopicPartition> assigned = assignments.TryGetValue(memberId, out var given) ? given.Partitions : [];
            revoked.UnionWith(Except(subscription.OwnedPartitions, assigned));
            added.UnionWith(Except(assigned, subscription.OwnedPartitions));
        }

        added.IntersectWith(revoked);
        if (added.Count == 0)
        {
            return;
        }

        var moved = new List<string>(added.Count);
        foreach (var partition in added)
        {
            moved.Add(partition.ToString());
        }

        moved.Sort(StringComparer.Ordinal);
        var problem = "the partition assignor '" + assignor + "' supports the cooperative rebalance protocol but gave partitions still owned by one member to another in the same rebalance (" +
            string.Join(", ", moved) + "); it must revoke a partition in one rebalance and assign it in the next";
        _listener.OnAssignmentFailed(problem, null);
        throw new InvalidOperationException(problem + ".");
    }

    private static RebalanceProtocol CommonProtocol(IReadOnlyList<IConsumerPartitionAssignor> assignors)
    {
        foreach (var assignor in assignors)
        {
            var cooperative = false;
            foreach (var supported in assignor.SupportedProtocols)
            {
                cooperative |= supported == RebalanceProtocol.Cooperative;
            }

            if (!cooperative)
            {
                return RebalanceProtocol.Eager;
            }
        }

        return RebalanceProtocol.Cooperative;
    }

    private static IEnumerable<TopicPartition> Except(IEnumerable<TopicPartition> from, IEnumerable<TopicPartition> remove)
    {
        var removed = new HashSet<TopicPartition>(remove);
        foreach (var partition in from)
        {
            if (!removed.Contains(partition))
            {
                yield return partition;
            }
        }
    }

    /// <summary>The partitions of <paramref name="partitions"/> whose topic the consumer does not subscribe to now.</summary>
    private List<TopicPartition> NotSubscribed(IReadOnlyCollection<TopicPartition> partitions)
    {
        List<TopicPartition> found = [];
        if (partitions.Count == 0)
        {
            return found;
        }

        var subscribed = new HashSet<string>(_subscription(), StringComparer.Ordinal);
        foreach (var partition in partitions)
        {
            if (!subscribed.Contains(partition.Topic))
            {
                found.Add(partition);
            }
        }

        return found;
    }

    private IConsumerPartitionAssignor? Find(string protocol)
    {
        foreach (var assignor in _assignors)
        {
            if (string.Equals(assignor.Name, protocol, StringComparison.Ordinal))
            {
                return assignor;
            }
        }

        return null;
    }
}
