namespace Messaging.Pools;

/// <summary>
/// Where the consumer gets the buffers whole Fetch responses are read into: the connection reads a response into one
/// buffer from here (no growth copies), records point into it until the last of them is recycled, and then the
/// buffer comes back through <see cref="Return"/>.
/// </summary>
/// <remarks>
/// <para>Sizes: <see cref="Rent"/> is asked only for sizes within the consumer's fetch limits (fetch.max.bytes plus
/// the batches a broker may add beyond it, capped at the largest response accepted). A larger size prefix — a broken
/// or hostile broker — is read by the connection's own path, which grows its buffer as bytes arrive, without asking
/// the pool.</para>
/// <para>Every buffer handed out by <see cref="Rent"/> comes back through <see cref="Return"/> exactly once.
/// Implementations must be thread-safe: buffers are rented on a connection's read loop and returned on whichever
/// thread recycles the last record. Built-ins: <see cref="FetchResponsePool"/> (the default) and
/// <see cref="NoPooling.FetchResponses"/>.</para>
/// </remarks>
public interface IFetchResponsePool
{
    /// <summary>A buffer to read one Fetch response of <paramref name="length"/> bytes into.</summary>
    /// <param name="length">The response's size.</param>
    /// <returns>A buffer of at least <paramref name="length"/> bytes.</returns>
    byte[] Rent(int length);

    /// <summary>Takes back a buffer once nothing points into it.</summary>
    /// <param name="buffer">A buffer from <see cref="Rent"/>.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "Rent/Return, as ArrayPool<T> names them.")]
    void Return(byte[] buffer);
}
