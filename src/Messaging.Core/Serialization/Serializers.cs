using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Messaging.Serialization;

namespace Messaging;

/// <summary>The built-in serializers. Each is a thread-safe singleton (or, for JSON, one per type info) and allocates nothing per call.</summary>
public static class Serializers
{
    /// <summary>Bytes as they are.</summary>
    public static ISerializer<byte[]> ByteArray { get; } = new ByteArraySerializer();

    /// <summary>Bytes as they are, from any memory.</summary>
    public static ISerializer<ReadOnlyMemory<byte>> Memory { get; } = new MemorySerializer();

    /// <summary>Strings as UTF-8 (the Java client's <c>StringSerializer</c>).</summary>
    public static ISerializer<string> Utf8 { get; } = new Utf8Serializer();

#pragma warning disable CA1720 // Named after the .NET type they serialize, like BinaryPrimitives.WriteInt32BigEndian.
    /// <summary>32-bit integers as 4 big-endian bytes (the Java client's <c>IntegerSerializer</c>).</summary>
    public static ISerializer<int> Int32 { get; } = new Int32Serializer();

    /// <summary>64-bit integers as 8 big-endian bytes (the Java client's <c>LongSerializer</c>).</summary>
    public static ISerializer<long> Int64 { get; } = new Int64Serializer();
#pragma warning restore CA1720

    /// <summary>
    /// JSON through System.Text.Json with source-generated metadata (<c>MyJsonContext.Default.MyType</c>), so no
    /// reflection runs and trimming/AOT keep working. The UTF-8 is written straight to the producer's buffer.
    /// </summary>
    /// <typeparam name="T">The type serialized.</typeparam>
    /// <param name="typeInfo">The source-generated type info.</param>
    /// <returns>The serializer.</returns>
    public static ISerializer<T> Json<T>(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return new JsonValueSerializer<T>(typeInfo);
    }

    private sealed class ByteArraySerializer : ISerializer<byte[]>
    {
        public void Serialize(byte[] value, IBufferWriter<byte> output) => output.Write(value);
    }

    private sealed class MemorySerializer : ISerializer<ReadOnlyMemory<byte>>
    {
        public void Serialize(ReadOnlyMemory<byte> value, IBufferWriter<byte> output) => output.Write(value.Span);
    }

    private sealed class Utf8Serializer : ISerializer<string>
    {
        public void Serialize(string value, IBufferWriter<byte> output)
        {
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length));
            output.Advance(Encoding.UTF8.GetBytes(value, span));
        }
    }

    private sealed class Int32Serializer : ISerializer<int>
    {
        public void Serialize(int value, IBufferWriter<byte> output)
        {
            BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), value);
            output.Advance(4);
        }
    }

    private sealed class Int64Serializer : ISerializer<long>
    {
        public void Serialize(long value, IBufferWriter<byte> output)
        {
            BinaryPrimitives.WriteInt64BigEndian(output.GetSpan(8), value);
            output.Advance(8);
        }
    }
}
