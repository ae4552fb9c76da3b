using System.Buffers;
using System.Diagnostics.CodeAnalysis;
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

    private readonly JsonWriterOptions _writerOptions;
    private readonly JsonReaderOptions _readerOptions;

    // Options with a type-info resolver, read-only. Null until first use when the caller's options have no resolver:
    // reflection-based metadata is then created on the first call (WithReflection), so building the default codec —
    // and RpcClientOptions, whose default it is — never touches reflection in a trimmed or native AOT app.
    private JsonSerializerOptions? _options;
    private readonly JsonSerializerOptions _given;

    /// <summary>
    /// Creates the codec with <paramref name="options"/>, or System.Text.Json's web defaults. Options without a
    /// <see cref="JsonSerializerOptions.TypeInfoResolver"/> use reflection-based metadata from the first call, as
    /// <see cref="JsonSerializer"/> itself does — where the app allows it: a trimmed or native AOT app turns
    /// reflection off (<see cref="JsonSerializer.IsReflectionEnabledByDefault"/>), and a typed call then fails
    /// with an <see cref="InvalidOperationException"/> that says to build the codec from a source-generated context.
    /// </summary>
    /// <param name="options">The serializer options (copied if they have no resolver; made read-only otherwise), or null for the web defaults.</param>
    public JsonRpcSerializer(JsonSerializerOptions? options = null)
    {
        _given = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        if (_given.TypeInfoResolver is not null)
        {
            _given.MakeReadOnly();
            _options = _given;
        }

        _writerOptions = new JsonWriterOptions
        {
            Encoder = _given.Encoder,
            Indented = _given.WriteIndented,
            MaxDepth = _given.MaxDepth,
            SkipValidation = true,
        };
        _readerOptions = new JsonReaderOptions
        {
            AllowTrailingCommas = _given.AllowTrailingCommas,
            CommentHandling = _given.ReadCommentHandling,
            MaxDepth = _given.MaxDepth,
        };
    }

    /// <summary>Creates the codec over a source-generated context: types are resolved from it only (no reflection).</summary>
    /// <param name="context">The context, for example <c>MyJsonContext.Default</c>.</param>
    public JsonRpcSerializer(JsonSerializerContext context)
        : this((context ?? throw new ArgumentNullException(nameof(context))).Options)
    {
    }

    /// <summary>
    /// The codec with System.Text.Json's web defaults (camelCase names), reflection-based: for trimmed and native AOT
    /// apps use <c>new JsonRpcSerializer(MyJsonContext.Default)</c> instead.
    /// </summary>
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

    private JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)(_options ?? WithReflection()).GetTypeInfo(typeof(T));

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification = "Runs only when JsonSerializer.IsReflectionEnabledByDefault, which trimmed and native AOT apps turn off; they get the InvalidOperationException below.")]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = "Runs only when JsonSerializer.IsReflectionEnabledByDefault, which trimmed and native AOT apps turn off; they get the InvalidOperationException below.")]
    private JsonSerializerOptions WithReflection()
    {
        if (!JsonSerializer.IsReflectionEnabledByDefault)
        {
            throw new InvalidOperationException(
                "Reflection-based JSON is disabled in this app (trimmed or native AOT): set RpcClientOptions.Serializer to a JsonRpcSerializer built from a source-generated JsonSerializerContext, for example new JsonRpcSerializer(MyJsonContext.Default).");
        }

        // A copy, so the caller's options object is left as given; publishing a second equal copy in a race is harmless.
        var options = new JsonSerializerOptions(_given) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        options.MakeReadOnly();
        _options = options;
        return options;
    }

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
