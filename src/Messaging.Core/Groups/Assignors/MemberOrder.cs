namespace Messaging.Groups.Assignors;

/// <summary>
/// The order in which the Java assignors list members (<c>AbstractPartitionAssignor.MemberInfo.compareTo</c>): static
/// members first, by group instance id, then dynamic members by member id, all compared ordinally as Java's
/// <c>String.compareTo</c> does. Sorting static members by instance id keeps their assignment when they restart with
/// a new member id.
/// </summary>
internal static class MemberOrder
{
    /// <summary>Returns the member ids of <paramref name="subscriptions"/> in Java's member order.</summary>
    /// <param name="subscriptions">The subscriptions by member id.</param>
    /// <returns>A new array of member ids.</returns>
    public static string[] Sorted(IReadOnlyDictionary<string, ConsumerSubscription> subscriptions)
    {
        var members = new string[subscriptions.Count];
        var instances = new string?[members.Length];
        int i = 0;
        foreach (var (memberId, subscription) in subscriptions)
        {
            members[i] = memberId;
            instances[i] = subscription.GroupInstanceId;
            i++;
        }

        Array.Sort(instances, members, Comparer<string?>.Create(static (a, b) => (a, b) switch
        {
            (not null, not null) => string.CompareOrdinal(a, b),
            (not null, null) => -1,
            (null, not null) => 1,
            _ => 0,
        }));

        // Array.Sort is not stable: break ties (two dynamic members, or a duplicated instance id) by member id so that
        // every leader computes the same order whatever order the dictionary enumerates in.
        int start = 0;
        while (start < members.Length)
        {
            int end = start + 1;
            while (end < members.Length && string.Equals(instances[end], instances[start], StringComparison.Ordinal))
            {
                end++;
            }

            if (end - start > 1)
            {
                Array.Sort(members, start, end - start, StringComparer.Ordinal);
            }

            start = end;
        }

        return members;
    }
}
