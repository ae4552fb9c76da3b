[assembly: System.CLSCompliant(false)]

namespace Messaging.Rpc;

/// <summary>
/// Names this assembly for reflection-based checks (its dependency rules). The RPC layer — request/reply over
/// Kafka topics with correlation IDs, reply routing, deadlines, codecs and middleware — is built on
/// Messaging.Core's public API once the producer and consumer exist.
/// </summary>
public static class AssemblyMarker
{
}
