
namespace Messaging.Pools;

/// <summary>
/// Where the consumer gets the arrays of record handles that batches are delivered in
/// (<see cref="ConsumeBatch.Records"/> is a span over one).
/// </summary>
/// <remarks>
/// Every array handed out by <see cref="Rent"/> comes back through <see cref="Return"/> exactly once, cleared, when
/// every record in it has been recycled. Implementations must be thread-safe. Built-ins: <see cref="RecordSlicePool"/>
/// (the default) and <see cref="NoPooling.RecordSlices"/>.
/// </remarks>
public interface IRecordSlicePool
{
    /// <summary>An array of at least <paramref name="minimumLength"/> elements.</summary>
    /// <param name="minimumLength">The least length.</param>
    /// <returns>The array.</returns>
    ConsumedRecord[] Rent(int minimumLength);

    /// <summary>Takes back an array (its used elements already cleared).</summary>
    /// <param name="array">The array.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "Rent/Return, as ArrayPool<T> names them.")]
    void Return(ConsumedRecord[] array);
}
