using Messaging.Records;

namespace Messaging;

/// <summary>
/// The headers of a decoded record: a view over the header bytes inside the batch, parsed lazily when enumerated.
/// The bytes were validated when the record was decoded, so enumerating cannot fail. Enumerating allocates nothing.
/// </summary>
public readonly struct RecordHeaders
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly int _count;

    internal RecordHeaders(ReadOnlyMemory<byte> data, int count)
    {
        _data = data;
        _count = count;
    }

    /// <summary>The number of headers.</summary>
    public int Count => _count;

    /// <summary>The encoded header bytes (Kafka's wire form, after the header count).</summary>
    public ReadOnlyMemory<byte> RawBytes => _data;

    /// <summary>Returns an allocation-free enumerator.</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(_data, _count);

    /// <summary>Finds the last header with the given key (Kafka's <c>lastHeader</c>).</summary>
    /// <param name="keyUtf8">The UTF-8 key.</param>
    /// <param name="header">The header, when found.</param>
    /// <returns>True when found.</returns>
    public bool TryGetLast(ReadOnlySpan<byte> keyUtf8, out RecordHeader header)
    {
        bool found = false;
        header = default;
        foreach (RecordHeader h in this)
        {
            if (h.KeyEquals(keyUtf8))
            {
                header = h;
                found = true;
            }
        }

        return found;
    }

    /// <summary>Copies the headers into <paramref name="destination"/>.</summary>
    /// <param name="destination">Must hold at least <see cref="Count"/> elements.</param>
    /// <returns>The number of headers copied.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public int CopyTo(Span<RecordHeader> destination)
    {
        if (destination.Length < _count)
        {
            throw new ArgumentException("The destination is smaller than Count.", nameof(destination));
        }

        int i = 0;
        foreach (RecordHeader h in this)
        {
            destination[i++] = h;
        }

        return i;
    }

    /// <summary>Enumerates the headers of one record.</summary>
    public struct Enumerator
    {
        private readonly ReadOnlyMemory<byte> _data;
        private int _remaining;
        private int _position;
        private RecordHeader _current;

        internal Enumerator(ReadOnlyMemory<byte> data, int count)
        {
            _data = data;
            _remaining = count;
            _position = 0;
            _current = default;
        }

        /// <summary>The current header.</summary>
        public readonly RecordHeader Current => _current;

        /// <summary>Moves to the next header.</summary>
        /// <returns>False after the last header.</returns>
        public bool MoveNext()
        {
            if (_remaining == 0)
            {
                return false;
            }

            _remaining--;
            ReadOnlySpan<byte> span = _data.Span;
            int keyLength = RecordVarint.ReadTrusted(span, ref _position);
            ReadOnlyMemory<byte> key = _data.Slice(_position, keyLength);
            _position += keyLength;
            int valueLength = RecordVarint.ReadTrusted(span, ref _position);
            if (valueLength < 0)
            {
                _current = new RecordHeader(key, default, isValueNull: true);
            }
            else
            {
                _current = new RecordHeader(key, _data.Slice(_position, valueLength));
                _position += valueLength;
            }

            return true;
        }
    }
}
