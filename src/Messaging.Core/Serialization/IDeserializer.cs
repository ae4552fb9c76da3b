using System.Runtime.InteropServices;

namespace Messaging.Serialization;

/// <summary>
/// Turns the bytes of a record's key or value into a <typeparamref name="T"/>, straight from the consumer's pooled
/// buffer (no intermediate array per record). Built-ins are in <see cref="Deserializers"/>.
/// </summary>
/// <typeparam name="T">The type produced.</typeparam>
/// <remarks>
/// Called on the consuming thread. The span is only valid during the call: copy what the result must keep. A Kafka
/// null (length -1) arrives as an empty span with <c>isNull</c> true; an empty key or value as an empty span with
/// <c>isNull</c> false. An exception thrown here surfaces as a <see cref="ConsumeException"/> naming the
/// record, which is not consumed (the position stays on it).
/// </remarks>
public interface IDeserializer<out T>
{
    /// <summary>Reads a key or value.</summary>
    /// <param name="data">The bytes (empty when <paramref name="isNull"/>).</param>
    /// <param name="isNull">True for a Kafka null.</param>
    /// <param name="context">Which record and which part of it.</param>
    /// <returns>The value.</returns>
    T Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context);
}

/// <summary>Which part of a record a deserializer is reading.</summary>
public enum RecordComponent
{
    /// <summary>The key.</summary>
    Key,

    /// <summary>The value.</summary>
    Value,
}

/// <summary>What a deserializer is told about the record it reads: topic, partition, offset, which part, the headers.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct DeserializationContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="offset">The record's offset.</param>
    /// <param name="component">The key or the value.</param>
    /// <param name="headers">The record's headers (slices of the pooled buffer, valid during the call).</param>
    public DeserializationContext(string topic, int partition, long offset, RecordComponent component, RecordHeaders headers)
    {
        Topic = topic;
        Partition = partition;
        Offset = offset;
        Component = component;
        Headers = headers;
    }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The partition.</summary>
    public int Partition { get; }

    /// <summary>The record's offset.</summary>
    public long Offset { get; }

    /// <summary>Whether the key or the value is being read.</summary>
    public RecordComponent Component { get; }

    /// <summary>The record's headers; valid only during the call.</summary>
    public RecordHeaders Headers { get; }
}
