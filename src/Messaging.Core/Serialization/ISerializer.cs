using System.Buffers;

namespace Messaging.Serialization;

/// <summary>
/// Turns a key or value into the bytes of a record, written straight into a buffer the producer owns (no
/// intermediate array per record). Built-ins are in <see cref="Serializers"/>.
/// </summary>
/// <typeparam name="T">The type serialized.</typeparam>
/// <remarks>
/// Called on the producing thread, concurrently from many threads: implementations must be thread-safe. A null
/// reference is never passed — the producer writes a Kafka null (length -1) for it without calling the serializer.
/// </remarks>
public interface ISerializer<in T>
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="output"/>.</summary>
    /// <param name="value">The value (never null).</param>
    /// <param name="output">Where the bytes go; everything advanced past is the serialized form.</param>
    void Serialize(T value, IBufferWriter<byte> output);
}
