using System.Reflection;

namespace Messaging.Core.Tests.Architecture;

/// <summary>
/// The dependency rules, read from the compiled assemblies' IL: Core's namespaces form layers and every use points
/// down; the RPC layer uses Core's public API only. Each rule is also shown to catch a planted violation. (The RPC
/// assembly's references and Core's friend list are checked in Messaging.Rpc.Tests.)
/// </summary>
public sealed class DependencyRulesTests
{
    /// <summary>Core's layers, bottom first (docs/architecture.md explains each).</summary>
    internal static readonly LayerRule CoreLayers = new(
        ["Messaging"],                                   // vocabulary: TopicPartition, ErrorCode, ApiKey, IsolationLevel, OffsetSpec
        ["Messaging.Threading"],                         // AsyncSignal, DeadlineScheduler
        ["Messaging.Buffers"],                           // growable buffers, bounded and bucketed pools, pool statistics
        ["Messaging.Errors"],                            // the KafkaException hierarchy and its one factory
        ["Messaging.Diagnostics"],                       // logging events, the Messaging.Kafka meter
        ["Messaging.Protocol"],                          // readers, writers, framing, CRC (no sockets)
        ["Messaging.Protocol.Messages"],                 // messages generated from the schemas
        ["Messaging.Compression"],                       // the four codecs
        ["Messaging.Records"],                           // record batches
        ["Messaging.Serialization"],                     // serializers over records
        ["Messaging.Connection"],                        // transports, connections, pending requests
        ["Messaging.Cluster"],                           // client options, metadata, the cluster client
        ["Messaging.Admin"],
        ["Messaging.Producer.Partitioners"],
        ["Messaging.Producer"],
        ["Messaging.Consumer"]);

    private static readonly Assembly Core = typeof(Messaging.Protocol.ProtocolLimits).Assembly;
    private static readonly Assembly Rpc = typeof(Messaging.Rpc.AssemblyMarker).Assembly;

    [Fact]
    public void Every_use_inside_core_points_down_the_layers()
    {
        var violations = CoreLayers.Violations(NamespaceGraph.Read(Core.Location));
        Assert.True(violations.Count == 0, "Messaging.Core breaks its layer rule:" + Environment.NewLine + string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void The_layer_rule_reports_a_planted_upward_use_and_a_namespace_missing_from_the_table()
    {
        var graph = NamespaceGraph.Read(typeof(DependencyRulesTests).Assembly.Location);
        var rule = new LayerRule(["Messaging.Core.Tests.Architecture.Planted.Low"], ["Messaging.Core.Tests.Architecture.Planted.High"]);
        var violations = rule.Violations(graph);
        Assert.Contains(violations, v => v.StartsWith("Messaging.Core.Tests.Architecture.Planted.Low uses Messaging.Core.Tests.Architecture.Planted.High, a higher layer", StringComparison.Ordinal)
                                         && v.Contains("UsesHigh", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("namespace Messaging.Core.Tests.Architecture is in no layer", StringComparison.Ordinal));

        var flipped = new LayerRule(["Messaging.Core.Tests.Architecture.Planted.High"], ["Messaging.Core.Tests.Architecture.Planted.Low"]);
        Assert.DoesNotContain(flipped.Violations(graph), v => v.Contains("Planted.Low uses", StringComparison.Ordinal));
    }

    [Fact]
    public void The_rpc_layer_uses_only_cores_public_api()
    {
        var violations = NonPublicCoreUses(Rpc.Location);
        Assert.True(violations.Count == 0, "Messaging.Rpc uses Core's non-public API:" + Environment.NewLine + string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void The_public_api_rule_reports_a_planted_use_of_cores_internals()
    {
        // This test assembly is Core's friend and uses its internals on purpose (Planted/PlantedLayers.cs among many).
        var violations = NonPublicCoreUses(typeof(DependencyRulesTests).Assembly.Location);
        Assert.Contains(violations, v => v.Contains("Planted.High.Target uses Messaging.Producer.ProducerSettings", StringComparison.Ordinal));
    }

    private static List<string> NonPublicCoreUses(string assemblyPath)
    {
        var graph = NamespaceGraph.Read(assemblyPath, external: static scope => scope == "Messaging.Core");
        var violations = new List<string>();
        foreach (var (from, target, isPublic) in graph.ExternalUses)
        {
            if (!isPublic)
            {
                violations.Add(from + " uses " + target);
            }
        }

        return violations;
    }
}
