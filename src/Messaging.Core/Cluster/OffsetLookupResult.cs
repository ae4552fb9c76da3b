
namespace Messaging.Cluster;

/// <summary>
/// One partition's answer from <see cref="OffsetLookup"/>: the offset found, or the error that stopped the lookup.
/// </summary>
/// <param name="Offset">The offset found (meaningful when <see cref="Error"/> is null).</param>
/// <param name="Error">Why the lookup failed, or null when it succeeded.</param>
/// <param name="IsRetriable">
/// True when a later lookup may succeed (a moved leader, a broker restarting, a topic the metadata does not show yet);
/// false when it will not (an authorization failure, a version the broker lacks).
/// </param>
internal readonly record struct OffsetLookupResult(ListedOffset Offset, KafkaException? Error, bool IsRetriable)
{
    /// <summary>True when <see cref="Offset"/> holds the answer.</summary>
    public bool Succeeded => Error is null;

    public static OffsetLookupResult Found(ListedOffset offset) => new(offset, null, false);

    public static OffsetLookupResult Failed(KafkaException error, bool retriable) => new(default, error, retriable);
}
