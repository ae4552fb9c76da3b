using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Messaging.Serialization;

namespace Messaging;

/// <summary>
/// The built-in deserializers, the mirror images of the producer's serializers. Each is a thread-safe singleton (or,
/// for JSON, one per type info). Only <see cref="ByteArray"/>, <see cref="Utf8"/> and <see cref="Json{T}"/> allocate,
/// and only the result.
/// </summary>
public static class Deserializers
{
    /// <summary>The bytes, copied into a new array (null for a Kafka null).</summary>
    public static IDeserializer<byte[]?> ByteArray { get; } = new ByteArrayDeserializer();

    /// <summary>UTF-8 text (the Java client's <c>StringDeserializer</c>); null for a Kafka null.</summary>
    public static IDeserializer<string?> Utf8 { get; } = new Utf8Deserializer();

#pragma warning disable CA1720 // Named after the .NET type they read, like BinaryPrimitives.ReadInt32BigEndian.
    /// <summary>A 32-bit integer from 4 big-endian bytes (the Java client's <c>IntegerDeserializer</c>).</summary>
    public static IDeserializer<int> Int32 { get; } = new Int32Deserializer();

    /// <summary>A 64-bit integer from 8 big-endian bytes (the Java client's <c>LongDeserializer</c>).</summary>
    public static IDeserializer<long> Int64 { get; } = new Int64Deserializer();

    /// <summary>A double from 8 big-endian bytes (the Java client's <c>DoubleDeserializer</c>).</summary>
    public static IDeserializer<double> Double { get; } = new DoubleDeserializer();
#pragma warning restore CA1720

    /// <summary>Reads nothing: for a key or value the application does not look at. Costs nothing per record.</summary>
    public static IDeserializer<Ignore> Ignore { get; } = new IgnoreDeserializer();

    /// <summary>
    /// JSON through System.Text.Json with source-generated metadata (<c>MyJsonContext.Default.MyType</c>): no
    /// reflection, trimming and AOT safe; read straight from the pooled bytes. A Kafka null gives <c>default</c>.
    /// </summary>
    /// <typeparam name="T">The type read.</typeparam>
    /// <param name="typeInfo">The source-generated type info.</param>
    /// <returns>The deserializer.</returns>
    public static IDeserializer<T?> Json<T>(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return new JsonDeserializer<T>(typeInfo);
    }

    private static void ThrowIfNotLength(ReadOnlySpan<byte> data, bool isNull, int length, string type)
    {
        if (isNull || data.Length != length)
        {
            throw new InvalidDataException(isNull
                ? "A Kafka null cannot be read as " + type + "."
                : type + " needs exactly " + length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes, not " +
                  data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        }
    }

    private sealed class ByteArrayDeserializer : IDeserializer<byte[]?>
    {
        public byte[]? Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context) => isNull ? null : data.ToArray();
    }

    private sealed class Utf8Deserializer : IDeserializer<string?>
    {
        public string? Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context) => isNull ? null : Encoding.UTF8.GetString(data);
    }

    private sealed class Int32Deserializer : IDeserializer<int>
    {
        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context)
        {
            ThrowIfNotLength(data, isNull, 4, "Int32");
            return BinaryPrimitives.ReadInt32BigEndian(data);
        }
    }

    private sealed class Int64Deserializer : IDeserializer<long>
    {
        public long Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context)
        {
            ThrowIfNotLength(data, isNull, 8, "Int64");
            return BinaryPrimitives.ReadInt64BigEndian(data);
        }
    }

    private sealed class DoubleDeserializer : IDeserializer<double>
    {
        public double Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context)
        {
            ThrowIfNotLength(data, isNull, 8, "Double");
            return BinaryPrimitives.ReadDoubleBigEndian(data);
        }
    }

    private sealed class IgnoreDeserializer : IDeserializer<Ignore>
    {
        public Ignore Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context) => default;
    }

    private sealed class JsonDeserializer<T>(JsonTypeInfo<T> typeInfo) : IDeserializer<T?>
    {
        public T? Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context) =>
            isNull ? default : JsonSerializer.Deserialize(data, typeInfo);
    }
}

/// <summary>The result type of <see cref="Deserializers.Ignore"/>: a key or value the application does not read.</summary>
public readonly record struct Ignore;
