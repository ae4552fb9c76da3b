using System.Buffers.Binary;
using Messaging.Groups.Assignors;

namespace Messaging.Groups;

/// <summary>
/// The <c>cooperative-sticky</c> assignor, after the Java client's <c>CooperativeStickyAssignor</c>: a balanced
/// assignment (sizes within one when all members subscribe to the same topics) that keeps as many partitions as
/// possible with their current owners, under the cooperative rule that a partition moving between two members is
/// only revoked in this round and assigned in the next.
/// </summary>
/// <remarks>
/// <para>Ownership comes from each subscription's owned partitions and generation (subscription version 2 and later),
/// or, from older members, from a 4-byte big-endian generation in the user data, which this assignor also sends. When
/// two members claim one partition the newer generation wins; two claims in the same generation are both dropped and
/// the partition counts as transferring.</para>
/// <para>With equal subscriptions the result follows Java's constrained algorithm step by step, walking the members in
/// the order a Java HashMap iterates them, so a group gets the partitions the Java client would give it. With unequal
/// subscriptions it follows the rules of Java's general algorithm (see <c>GeneralStickyBuilder</c>). Rack-aware
/// placement is not done: the cluster view has no replica racks.</para>
/// <para>One instance belongs to one consumer: <see cref="OnAssignment"/> records the generation that
/// <see cref="GetSubscriptionUserData"/> encodes.</para>
/// </remarks>
public sealed class CooperativeStickyAssignor : IConsumerPartitionAssignor
{
    /// <summary>The protocol name, <c>cooperative-sticky</c>.</summary>
    public const string AssignorName = "cooperative-sticky";

    private int _generation = StickyInput.DefaultGeneration;

    /// <inheritdoc/>
    public string Name => AssignorName;

    /// <inheritdoc/>
    public IReadOnlyList<RebalanceProtocol> SupportedProtocols { get; } = [RebalanceProtocol.Cooperative, RebalanceProtocol.Eager];

    /// <summary>The generation of the last assignment received, or -1 before the first.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <inheritdoc/>
    /// <remarks>The generation as one big-endian int32 (Java's <c>COOPERATIVE_STICKY_ASSIGNOR_USER_DATA_V0</c>).</remarks>
    public ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(data, Generation);
        return data;
    }

    /// <inheritdoc/>
    public void OnAssignment(ConsumerAssignment assignment, int generationId) => Volatile.Write(ref _generation, generationId);

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, ConsumerAssignment> Assign(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions)
    {
        StickyInput input = StickyInput.Create(cluster, subscriptions, MemberGeneration);
        string[] members = input.Members;
        if (members.Length == 0)
        {
            return new Dictionary<string, ConsumerAssignment>(StringComparer.Ordinal);
        }

        List<TopicPartition>[] assignment;
        HashSet<TopicPartition> transferring;
        if (input.AllSubscriptionsEqual)
        {
            transferring = [];
            assignment = ConstrainedStickyBuilder.Build(input, transferring);
        }
        else
        {
            assignment = GeneralStickyBuilder.Build(input);
            transferring = TransferringOwnership(input, assignment);
        }

        // The cooperative rule (Java's adjustAssignment): a partition whose owner must first revoke it is left out of
        // its new owner's assignment this round; the owner revokes it, rejoins, and the next round assigns it.
        if (transferring.Count > 0)
        {
            foreach (List<TopicPartition> partitions in assignment)
            {
                partitions.RemoveAll(transferring.Contains);
            }
        }

        return AssignorInput.Result(members, assignment);
    }

    /// <summary>
    /// The member's generation as Java's <c>CooperativeStickyAssignor.memberData</c> reads it: the subscription's
    /// field when present; otherwise the user data's int32, -1 if the data is too short, unknown if there is none.
    /// </summary>
    private static int? MemberGeneration(ConsumerSubscription subscription)
    {
        if (subscription.GenerationId is { } generation)
        {
            return generation;
        }

        if (subscription.UserData is not { } userData)
        {
            return null;
        }

        return userData.Length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(userData.Span) : StickyInput.DefaultGeneration;
    }

    /// <summary>
    /// Java's <c>computePartitionsTransferringOwnership</c> for the general case: partitions newly assigned to one
    /// member that another member of the group reported owning and no longer gets.
    /// </summary>
    private static HashSet<TopicPartition> TransferringOwnership(StickyInput input, List<TopicPartition>[] assignment)
    {
        var added = new HashSet<TopicPartition>();
        var revoked = new HashSet<TopicPartition>();
        for (int m = 0; m < assignment.Length; m++)
        {
            var owned = new HashSet<TopicPartition>(input.RawOwned[m]);
            var assigned = new HashSet<TopicPartition>(assignment[m]);
            foreach (TopicPartition tp in assignment[m])
            {
                if (!owned.Contains(tp))
                {
                    added.Add(tp);
                }
            }

            foreach (TopicPartition tp in owned)
            {
                if (!assigned.Contains(tp))
                {
                    revoked.Add(tp);
                }
            }
        }

        added.IntersectWith(revoked);
        return added;
    }
}
