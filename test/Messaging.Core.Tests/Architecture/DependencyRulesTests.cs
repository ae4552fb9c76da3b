using System.Reflection;

namespace Messaging.Core.Tests.Architecture;

/// <summary>
/// The dependency rules, read from the compiled assemblies' IL: Core's namespaces form layers and every use points
/// down; the RPC layer uses Core's public API only. Each rule is also shown to catch a planted violation. (The RPC
/// assembly's references and Core's friend list are checked in Messaging.Rpc.Tests.)
/// </summary>
public sealed class DependencyRulesTests
{
    /// <summary>
    /// Core's layers by source folder, bottom first (docs/architecture.md explains each). Public types sit in a few
    /// namespaces whatever their folder, so the folder is what places a type in a layer.
    /// </summary>
    internal static readonly LayerRule CoreLayers = new(
        [SourceFolders.Root],                            // vocabulary: TopicPartition, ErrorCode, ApiKey, IsolationLevel, OffsetSpec, Timestamp
        ["Threading"],                                   // AsyncSignal, DeadlineScheduler, PooledValueTaskSource
        ["Buffers"],                                     // growable buffers, bounded and bucketed pools, pool statistics
        ["Errors"],                                      // the KafkaException hierarchy and its one factory
        ["Diagnostics"],                                 // logging events, the Messaging.Kafka meter
        ["Protocol"],                                    // readers, writers, framing, CRC (no sockets)
        ["Protocol/Messages"],                           // messages generated from the schemas
        ["Compression"],                                 // the four codecs
        ["Records"],                                     // record batches
        ["Serialization"],                               // serializers over records
        ["Connection"],                                  // transports, connections, pending requests
        ["Security"],                                    // TLS transport, SASL authenticator and mechanisms, their options
        ["Cluster"],                                     // client options, metadata, the cluster client
        ["Admin"],
        ["Groups/Assignors"],                            // consumer partition assignors and the ConsumerProtocol codec
        ["Groups"],                                      // coordinator, membership, offsets
        ["Producer/Partitioners"],
        ["Producer"],
        ["Consumer"]);

    private static readonly Assembly Core = typeof(Messaging.KafkaProducer).Assembly;
    private static readonly Assembly Rpc = typeof(Messaging.Rpc.AssemblyMarker).Assembly;

    [Fact]
    public void Every_use_inside_core_points_down_the_layers()
    {
        var folders = SourceFolders.Read(Path.Combine(SourceFolders.RepositoryRoot(), "src", "Messaging.Core"));
        var violations = CoreLayers.Violations(NamespaceGraph.Read(Core.Location, componentOf: folders.FolderOf));
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
        Assert.Contains(violations, v => v.Contains("Messaging.Core.Tests.Architecture is in no layer", StringComparison.Ordinal));

        var flipped = new LayerRule(["Messaging.Core.Tests.Architecture.Planted.High"], ["Messaging.Core.Tests.Architecture.Planted.Low"]);
        Assert.DoesNotContain(flipped.Violations(graph), v => v.Contains("Planted.Low uses", StringComparison.Ordinal));
    }

    [Fact]
    public void Public_types_are_placed_in_layers_by_their_folder_not_their_namespace()
    {
        var folders = SourceFolders.Read(Path.Combine(SourceFolders.RepositoryRoot(), "src", "Messaging.Core"));
        using var module = Mono.Cecil.ModuleDefinition.ReadModule(Core.Location);
        Assert.Equal("Producer", folders.FolderOf(module.GetType("Messaging.KafkaProducer")));
        Assert.Equal("Producer", folders.FolderOf(module.GetType("Messaging.KafkaProducer`2")));
        Assert.Equal("Consumer", folders.FolderOf(module.GetType("Messaging.Pools.RecordPool")));
        Assert.Equal("Errors", folders.FolderOf(module.GetType("Messaging.KafkaException")));
        Assert.Equal(SourceFolders.Root, folders.FolderOf(module.GetType("Messaging.TopicPartition")));

        // A type no Core source declares is in no layer, so the rule reports it rather than guessing.
        using var tests = Mono.Cecil.ModuleDefinition.ReadModule(typeof(DependencyRulesTests).Assembly.Location);
        Assert.StartsWith("unplaced:", folders.FolderOf(tests.GetType(typeof(DependencyRulesTests).FullName)), StringComparison.Ordinal);
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
