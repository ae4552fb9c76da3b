namespace Messaging.Connection;

/// <summary>
/// Where the read loop gets the buffer for one request's response frame, when the request brings its own pool (the
/// consumer's Fetch responses: large, frequent, and held by reference-counted records long after they were read).
/// </summary>
/// <remarks>
/// The read loop asks <see cref="TryRent"/> once it knows the frame's size; a null answer (a size the pool does not
/// expect, e.g. from a hostile size prefix) falls back to the default path, which grows the buffer as bytes arrive.
/// The frame returns the buffer through <see cref="Return"/> when it is disposed. Implementations are thread-safe.
/// </remarks>
internal interface IResponseBufferPool
{
    /// <summary>A buffer of at least <paramref name="length"/> bytes, or null to use the read loop's default.</summary>
    byte[]? TryRent(int length);

    /// <summary>Takes back a buffer <see cref="TryRent"/> handed out.</summary>
    void Return(byte[] buffer);
}
