
namespace Messaging.Pools;

/// <summary>
/// Where the consumer gets the record objects (<see cref="PooledRecord"/>) it hands to the application behind
/// <see cref="ConsumedRecord"/> handles. Rents and returns come in groups (one per delivered slice of records), so a
/// pool pays one synchronisation per group, never one per record.
/// </summary>
/// <remarks>
/// Every object handed out by <see cref="Rent"/> comes back through <see cref="Return"/> exactly once, when every
/// record of its slice has been recycled. Implementations must be thread-safe. Built-ins: <see cref="RecordPool"/> (the
/// default) and <see cref="NoPooling.Records"/>. A custom pool creates objects with <c>new PooledRecord()</c>.
/// </remarks>
public interface IRecordPool
{
    /// <summary>Fills every element of <paramref name="destination"/> with a record object (reused or new).</summary>
    /// <param name="destination">Where the objects go.</param>
    void Rent(Span<PooledRecord> destination);

    /// <summary>Takes back record objects no record handle can reach any more.</summary>
    /// <param name="records">The objects.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "Rent/Return, as ArrayPool<T> names them.")]
    void Return(ReadOnlySpan<PooledRecord> records);
}
