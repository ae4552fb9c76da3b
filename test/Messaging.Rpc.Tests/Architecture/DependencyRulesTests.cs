using System.Reflection;
using System.Runtime.CompilerServices;

namespace Messaging.Rpc.Tests.Architecture;

/// <summary>The RPC layer rides on Core's public API only: no friend access, no other client library (its packages are the pooled streams its payloads are encoded into and Polly's core for retries and circuit breakers).</summary>
public sealed class DependencyRulesTests
{
    private static readonly Assembly Rpc = typeof(Messaging.Rpc.AssemblyMarker).Assembly;
    private static readonly Assembly Core = typeof(Messaging.KafkaProducer).Assembly;

    [Fact]
    public void Core_grants_the_rpc_layer_no_access_to_its_internals()
    {
        foreach (var friend in Core.GetCustomAttributes<InternalsVisibleToAttribute>())
        {
            Assert.False(
                friend.AssemblyName.StartsWith("Messaging.Rpc", StringComparison.Ordinal) && !friend.AssemblyName.EndsWith(".Tests", StringComparison.Ordinal),
                $"Messaging.Core makes its internals visible to {friend.AssemblyName}; the RPC layer must use Core's public API only.");
        }
    }

    [Fact]
    public void The_rpc_layer_references_only_core_and_the_framework()
    {
        foreach (var reference in Rpc.GetReferencedAssemblies())
        {
            var name = reference.Name!;
            var allowed = name == "Messaging.Core" || name.StartsWith("System", StringComparison.Ordinal)
                          || name.StartsWith("Microsoft.Extensions", StringComparison.Ordinal) || name == "Microsoft.IO.RecyclableMemoryStream" || name == "Polly.Core"
                          || name == "netstandard" || name == "mscorlib";
            Assert.True(allowed, $"Messaging.Rpc references {name}; it may depend on Messaging.Core, the framework, the pooled streams and Polly.Core only.");
        }
    }
}
