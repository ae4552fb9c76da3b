using Messaging.Groups;

namespace Messaging.Consumer;

/// <summary>Turns <see cref="KafkaConsumerOptions.PartitionAssignmentStrategy"/> into assignor instances, one set per consumer.</summary>
internal static class PartitionAssignors
{
    /// <summary>
    /// The assignors named in <paramref name="strategy"/> (comma separated, most preferred first): the built-in
    /// <c>range</c>, <c>roundrobin</c> and <c>cooperative-sticky</c>, or a custom assignor's name.
    /// </summary>
    /// <exception cref="ArgumentException">A name is unknown or repeated, or none is given.</exception>
    public static IReadOnlyList<IConsumerPartitionAssignor> Resolve(string strategy, IEnumerable<Func<IConsumerPartitionAssignor>> custom)
    {
        var customByName = new Dictionary<string, IConsumerPartitionAssignor>(StringComparer.Ordinal);
        foreach (var factory in custom)
        {
            var assignor = factory?.Invoke() ?? throw new ArgumentException("A custom partition assignor factory is null or returned null.", nameof(custom));
            if (string.IsNullOrEmpty(assignor.Name) || !customByName.TryAdd(assignor.Name, assignor))
            {
                throw new ArgumentException("Custom partition assignor names must be non-empty and unique; '" + assignor.Name + "' is not.", nameof(custom));
            }
        }

        var result = new List<IConsumerPartitionAssignor>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in strategy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!seen.Add(part))
            {
                throw new ArgumentException("PartitionAssignmentStrategy (partition.assignment.strategy) names '" + part + "' twice.", nameof(strategy));
            }

            IConsumerPartitionAssignor? assignor = customByName.TryGetValue(part, out var found) ? found : part switch
            {
                "range" => new RangeAssignor(),
                "roundrobin" => new RoundRobinAssignor(),
                "cooperative-sticky" => new CooperativeStickyAssignor(),
                _ => null,
            };
            result.Add(assignor ?? throw new ArgumentException(
                "PartitionAssignmentStrategy (partition.assignment.strategy) names '" + part + "', which is neither a built-in assignor (range, roundrobin, cooperative-sticky) nor in CustomPartitionAssignors.",
                nameof(strategy)));
        }

        if (result.Count == 0)
        {
            throw new ArgumentException("PartitionAssignmentStrategy (partition.assignment.strategy) names no assignor; the default is 'range,cooperative-sticky'.", nameof(strategy));
        }

        return result;
    }
}
