using System.Buffers;

namespace Messaging.Rpc;

/// <summary>
/// Turns requests and replies into payload bytes and back. The <see cref="ContentType"/> travels in a header so the
/// peer knows how to read the payload. Implementations must be thread-safe: one instance serves every call.
/// </summary>
public interface IRpcSerializer
{
    /// <summary>The content type this serializer writes and reads (for example <c>application/json</c>).</summary>
    string ContentType { get; }

    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/> (a pooled stream; nothing is copied afterwards).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="destination">Where to write.</param>
    void Serialize<T>(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a value from <paramref name="source"/>, which is only valid during the call (it may be a slice of a pooled buffer).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="source">The payload.</param>
    /// <returns>The value; it must not refer to <paramref name="source"/>.</returns>
    T Deserialize<T>(ReadOnlySpan<byte> source);

    /// <summary>Reads a value from a payload in several segments, which is only valid during the call.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="source">The payload.</param>
    /// <returns>The value; it must not refer to <paramref name="source"/>.</returns>
    T Deserialize<T>(in ReadOnlySequence<byte> source);
}
