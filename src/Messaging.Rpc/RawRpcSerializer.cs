using System.Buffers;
using System.Runtime.CompilerServices;

namespace Messaging.Rpc;

/// <summary>
/// Raw bytes passed through unchanged, content type <c>application/octet-stream</c>. Serializes
/// <see cref="ReadOnlyMemory{T}"/>, <see cref="Memory{T}"/> and <c>byte[]</c> of bytes; deserializes to
/// <c>byte[]</c>, <see cref="ReadOnlyMemory{T}"/> or <see cref="Memory{T}"/> (a copy: the source is a pooled buffer
/// that is reused once the call returns).
/// </summary>
public sealed class RawRpcSerializer : IRpcSerializer
{
    /// <summary>The one instance (the codec has no state).</summary>
    public static RawRpcSerializer Instance { get; } = new();

    /// <inheritdoc />
    public string ContentType => "application/octet-stream";

    /// <inheritdoc />
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not a byte container.</exception>
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Write(AsSpan(value));
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not a byte container.</exception>
    public T Deserialize<T>(ReadOnlySpan<byte> source)
    {
        var copy = source.ToArray();
        if (typeof(T) == typeof(byte[]))
        {
            return Unsafe.As<byte[], T>(ref copy);
        }

        if (typeof(T) == typeof(ReadOnlyMemory<byte>))
        {
            var memory = new ReadOnlyMemory<byte>(copy);
            return Unsafe.As<ReadOnlyMemory<byte>, T>(ref memory);
        }

        if (typeof(T) == typeof(Memory<byte>))
        {
            var memory = new Memory<byte>(copy);
            return Unsafe.As<Memory<byte>, T>(ref memory);
        }

        throw Unsupported(typeof(T));
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not a byte container.</exception>
    public T Deserialize<T>(in ReadOnlySequence<byte> source) =>
        source.IsSingleSegment ? Deserialize<T>(source.FirstSpan) : Deserialize<T>(source.ToArray().AsSpan());

    /// <summary>The bytes of a byte container, without copying or boxing.</summary>
    internal static ReadOnlySpan<byte> AsSpan<T>(T value)
    {
        if (typeof(T) == typeof(ReadOnlyMemory<byte>))
        {
            return Unsafe.As<T, ReadOnlyMemory<byte>>(ref value).Span;
        }

        if (typeof(T) == typeof(Memory<byte>))
        {
            return Unsafe.As<T, Memory<byte>>(ref value).Span;
        }

        if (typeof(T) == typeof(byte[]))
        {
            return Unsafe.As<T, byte[]?>(ref value);
        }

        throw Unsupported(typeof(T));
    }

    private static NotSupportedException Unsupported(Type type) =>
        new("The raw-bytes RPC codec handles byte[], ReadOnlyMemory<byte> and Memory<byte>, not " + type.FullName + ".");
}
