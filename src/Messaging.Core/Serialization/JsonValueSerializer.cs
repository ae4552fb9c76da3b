using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Messaging.Serialization;

/// <summary>
/// JSON through System.Text.Json with source-generated metadata. One <see cref="Utf8JsonWriter"/> per thread is
/// reset onto each output, so serializing allocates nothing beyond what the type's own converters do.
/// </summary>
/// <typeparam name="T">The type serialized.</typeparam>
internal sealed class JsonValueSerializer<T>(JsonTypeInfo<T> typeInfo) : ISerializer<T>
{
    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    public void Serialize(T value, IBufferWriter<byte> output)
    {
        var writer = _writer;
        if (writer is null)
        {
            writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = false });
            _writer = writer;
        }
        else
        {
            writer.Reset(output);
        }

        try
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
            writer.Flush();
        }
        finally
        {
            // Do not keep the caller's buffer reachable from a thread-static.
            writer.Reset(NullBufferWriter.Instance);
        }
    }

    private sealed class NullBufferWriter : IBufferWriter<byte>
    {
        public static readonly NullBufferWriter Instance = new();

        public void Advance(int count)
        {
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => Memory<byte>.Empty;

        public Span<byte> GetSpan(int sizeHint = 0) => Span<byte>.Empty;
    }
}
