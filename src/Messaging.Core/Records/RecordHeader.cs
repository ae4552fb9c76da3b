using System.Text;

namespace Messaging;

/// <summary>
/// One record header: a UTF-8 key (never null) and a value that may be null. Decoded headers point into the batch's
/// bytes (no copy); headers to append can be built from a string key (encoded straight into the batch, no allocation)
/// or from UTF-8 key bytes.
/// </summary>
public readonly struct RecordHeader
{
    private readonly string? _key;
    private readonly ReadOnlyMemory<byte> _keyUtf8;
    private readonly ReadOnlyMemory<byte> _value;
    private readonly bool _isValueNull;

    /// <summary>Creates a header with a string key.</summary>
    /// <param name="key">The key; encoded as UTF-8 when the header is written.</param>
    /// <param name="value">The value (empty, not null, when default).</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    public RecordHeader(string key, ReadOnlyMemory<byte> value)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        _value = value;
    }

    /// <summary>Creates a header with UTF-8 key bytes.</summary>
    /// <param name="keyUtf8">The key, UTF-8 encoded.</param>
    /// <param name="value">The value; ignored when <paramref name="isValueNull"/> is true.</param>
    /// <param name="isValueNull">True for a null value (length -1 on the wire).</param>
    public RecordHeader(ReadOnlyMemory<byte> keyUtf8, ReadOnlyMemory<byte> value, bool isValueNull = false)
    {
        _keyUtf8 = keyUtf8;
        _value = isValueNull ? default : value;
        _isValueNull = isValueNull;
    }

    private RecordHeader(string key)
    {
        _key = key;
        _isValueNull = true;
    }

    /// <summary>Creates a header with a string key and a null value.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The header.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    public static RecordHeader WithNullValue(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new RecordHeader(key);
    }

    /// <summary>The key as a string. Decoded headers decode the UTF-8 bytes on each call (allocates); prefer
    /// <see cref="KeyEquals(ReadOnlySpan{byte})"/> or <see cref="KeyUtf8"/> on hot paths.</summary>
    public string Key => _key ?? Encoding.UTF8.GetString(_keyUtf8.Span);

    /// <summary>The key's UTF-8 bytes. For a header created from a string this encodes the string (allocates).</summary>
    public ReadOnlyMemory<byte> KeyUtf8 => _key is null ? _keyUtf8 : Encoding.UTF8.GetBytes(_key);

    /// <summary>The value; empty when <see cref="IsValueNull"/>.</summary>
    public ReadOnlyMemory<byte> Value => _value;

    /// <summary>True when the value is null (as opposed to empty).</summary>
    public bool IsValueNull => _isValueNull;

    /// <summary>Compares the key with UTF-8 bytes without allocating.</summary>
    /// <param name="keyUtf8">The UTF-8 key to compare with.</param>
    /// <returns>True when equal.</returns>
    public bool KeyEquals(ReadOnlySpan<byte> keyUtf8)
    {
        if (_key is null)
        {
            return _keyUtf8.Span.SequenceEqual(keyUtf8);
        }

        return KeyByteCount == keyUtf8.Length && Utf8Equals(_key, keyUtf8);
    }

    /// <summary>Compares the key with a string without allocating.</summary>
    /// <param name="key">The key to compare with.</param>
    /// <returns>True when equal.</returns>
    public bool KeyEquals(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _key is null ? Utf8Equals(key, _keyUtf8.Span) : string.Equals(_key, key, StringComparison.Ordinal);
    }

    /// <summary>The UTF-8 length of the key.</summary>
    internal int KeyByteCount => _key is null ? _keyUtf8.Length : Encoding.UTF8.GetByteCount(_key);

    /// <summary>Writes the UTF-8 key; <paramref name="destination"/> must have room for <see cref="KeyByteCount"/> bytes.</summary>
    internal int WriteKey(Span<byte> destination)
    {
        if (_key is null)
        {
            _keyUtf8.Span.CopyTo(destination);
            return _keyUtf8.Length;
        }

        return Encoding.UTF8.GetBytes(_key, destination);
    }

    private static bool Utf8Equals(string text, ReadOnlySpan<byte> utf8)
    {
        // Compare without allocating: decode into a stack buffer when small, else fall back to a byte count + rent.
        if (Encoding.UTF8.GetByteCount(text) != utf8.Length)
        {
            return false;
        }

        if (utf8.Length <= 256)
        {
            Span<byte> buffer = stackalloc byte[256];
            int n = Encoding.UTF8.GetBytes(text, buffer);
            return buffer.Slice(0, n).SequenceEqual(utf8);
        }

        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(utf8.Length);
        try
        {
            int n = Encoding.UTF8.GetBytes(text, rented);
            return rented.AsSpan(0, n).SequenceEqual(utf8);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
