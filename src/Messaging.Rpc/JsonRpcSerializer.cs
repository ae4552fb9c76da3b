using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Messaging.Rpc;

/// <summary>
/// The default codec: System.Text.Json, content type <c>application/json</c>, UTF-8 written straight into the
/// pooled payload stream and read straight from the pooled reply bytes. For trimming and native AOT, build it from a
/// source-generated <see cref="JsonSerializerContext"/>: every type then comes from the context's
/// <see cref="JsonTypeInfo{T}"/>.
/// </summary>
public sealed class JsonRpcSerializer : IRpcSerializer
{
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static JsonRpcSerializer? t_writerOwner;

    private readonly JsonSerializerOptions _options;
    private readonly JsonWriterOptions _writerOptions;
    private readonly JsonReaderOptions _readerOptions;

    /// <summary>Creates the codec with <paramref name="options"/> (made read-only now), or System.Text.Json's web defaults.</summary>
    /// <param name="options">The serializer options, or null for <see cref="JsonSerializerOptions.Web"/>.</param>
    public JsonRpcSerializer(JsonSerializerOptions? options = null)
    {
        options ??= JsonSerializerOptions.Web;
        if (options.TypeInfoResolver is null)
        {
            // Reflection-based, as JsonSerializer itself would be for these options; a copy, so the caller's object is left as given.
            options = new JsonSerializerOptions(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        }

        options.MakeReadOnly();
        _options = options;
        _writerOptions = new JsonWriterOptions
        {
            Encoder = _options.Encoder,
            Indented = _options.WriteIndented,
            MaxDepth = _options.MaxDepth,
            SkipValidation = true,
        };
        _readerOptions = new JsonReaderOptions
        {
            AllowTrailingCommas = _options.AllowTrailingCommas,
            CommentHandling = _options.ReadCommentHandling,
            MaxDepth = _options.MaxDepth,
        };
    }

    /// <summary>Creates the codec over a source-generated context: types are resolved from it only (no reflection).</summary>
    /// <param name="context">The context, for example <c>MyJsonContext.Default</c>.</param>
    public JsonRpcSerializer(JsonSerializerContext context)
        : this((context ?? throw new ArgumentNullException(nameof(context))).Options)
    {
    }

    /// <summary>The codec with System.Text.Json's web defaults (camelCase names, reflection-based).</summary>
    public static JsonRpcSerializer Default { get; } = new();

    /// <inheritdoc />
    public string ContentType => "application/json";

    /// <inheritdoc />
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var writer = RentWriter(destination);
        try
        {
            JsonSerializer.Serialize(writer, value, TypeInfo<T>());
            writer.Flush();
        }
        finally
        {
            // Detach the pooled stream from the cached writer: the writer must not keep a caller's buffer reachable.
            writer.Reset(NullBufferWriter.Instance);
        }
    }

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySpan<byte> source) => JsonSerializer.Deserialize(source, TypeInfo<T>())!;

    /// <inheritdoc />
    public T Deserialize<T>(in ReadOnlySequence<byte> source)
    {
        if (source.IsSingleSegment)
        {
            return Deserialize<T>(source.FirstSpan);
        }

        var reader = new Utf8JsonReader(source, _readerOptions);
        return JsonSerializer.Deserialize(ref reader, TypeInfo<T>())!;
    }

    private JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T));

    private Utf8JsonWriter RentWriter(IBufferWriter<byte> destination)
    {
        var writer = t_writer;
        if (writer is null || !ReferenceEquals(t_writerOwner, this))
        {
            writer = new Utf8JsonWriter(destination, _writerOptions);
            t_writer = writer;
            t_writerOwner = this;
            return writer;
        }

        writer.Reset(destination);
        return writer;
    }

    /// <summary>Where a cached writer points between uses: nothing is ever written to it.</summary>
    private sealed class NullBufferWriter : IBufferWriter<byte>
    {
        public static readonly NullBufferWriter Instance = new();

        public void Advance(int count) => throw new InvalidOperationException("Nothing is written to a detached JSON writer.");

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("Nothing is written to a detached JSON writer.");

        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("Nothing is written to a detached JSON writer.");
    }
}
