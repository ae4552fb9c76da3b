namespace Messaging.Core.Tests.Architecture;

/// <summary>
/// Parts (source folders or namespaces) in layers, bottom first: a part may use the parts of lower layers only. A use
/// of a higher layer, of another part in the same layer, or of a part the table does not list is a violation.
/// </summary>
internal sealed class LayerRule(params string[][] layers)
{
    private readonly Dictionary<string, int> _rank = Rank(layers);

    /// <summary>Every violation in <paramref name="graph"/>, as readable lines ("A uses B (higher layer): example").</summary>
    public List<string> Violations(NamespaceGraph graph)
    {
        var violations = new List<string>();
        foreach (var ns in graph.Namespaces)
        {
            if (!_rank.ContainsKey(ns))
            {
                violations.Add($"{ns} is in no layer: add it to the layer table (docs/architecture.md says where it belongs)");
            }
        }

        foreach (var (from, targets) in graph.Edges)
        {
            foreach (var (to, example) in targets)
            {
                if (!_rank.TryGetValue(from, out var fromRank) || !_rank.TryGetValue(to, out var toRank))
                {
                    continue; // reported above
                }

                if (toRank > fromRank)
                {
                    violations.Add($"{from} uses {to}, a higher layer: {example}");
                }
                else if (toRank == fromRank)
                {
                    violations.Add($"{from} uses {to}, a namespace of the same layer: {example}");
                }
            }
        }

        violations.Sort(StringComparer.Ordinal);
        return violations;
    }

    private static Dictionary<string, int> Rank(string[][] layers)
    {
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < layers.Length; i++)
        {
            foreach (var ns in layers[i])
            {
                rank.Add(ns, i);
            }
        }

        return rank;
    }
}
