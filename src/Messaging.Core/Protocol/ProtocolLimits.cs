namespace Messaging.Protocol;

/// <summary>
/// Upper bounds applied while decoding, checked before anything is allocated, so that a corrupt or hostile
/// length field cannot make the client allocate a huge string, byte array or element array.
/// </summary>
/// <remarks>
/// Every length is checked twice: against the bytes that remain in the buffer (a length larger than the rest of
/// the frame is always malformed) and against the limit configured here. Array counts are additionally bounded by the
/// remaining bytes because every element takes at least one byte on the wire. Instances are immutable; build one
/// with an object initializer and reuse it. Values are validated when set.
/// </remarks>
internal sealed class ProtocolLimits
{
    /// <summary>Default for <see cref="MaxStringBytes"/>: 32767, the largest string the classic int16 length allows (Kafka applies the same bound to compact strings).</summary>
    public const int DefaultMaxStringBytes = short.MaxValue;

    /// <summary>Default for <see cref="MaxBytesLength"/>: 100 MiB, the broker's default <c>socket.request.max.bytes</c>.</summary>
    public const int DefaultMaxBytesLength = 100 * 1024 * 1024;

    /// <summary>Default for <see cref="MaxArrayCount"/>: 1,048,576 elements per array.</summary>
    public const int DefaultMaxArrayCount = 1 << 20;

    /// <summary>Default for <see cref="MaxFrameBytes"/>: 100 MiB, the broker's default <c>socket.request.max.bytes</c>.</summary>
    public const int DefaultMaxFrameBytes = 100 * 1024 * 1024;

    /// <summary>The limits used when none are given: the documented defaults of every property.</summary>
    public static ProtocolLimits Default { get; } = new();

    private readonly int _maxStringBytes = DefaultMaxStringBytes;
    private readonly int _maxBytesLength = DefaultMaxBytesLength;
    private readonly int _maxArrayCount = DefaultMaxArrayCount;
    private readonly int _maxFrameBytes = DefaultMaxFrameBytes;

    /// <summary>The largest UTF-8 byte length accepted for a string field. Default <see cref="DefaultMaxStringBytes"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxStringBytes
    {
        get => _maxStringBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxStringBytes = value;
        }
    }

    /// <summary>The largest length accepted for a <c>bytes</c> or <c>records</c> field. Default <see cref="DefaultMaxBytesLength"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxBytesLength
    {
        get => _maxBytesLength;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxBytesLength = value;
        }
    }

    /// <summary>The largest element count accepted for an array field (and for a tagged-field section). Default <see cref="DefaultMaxArrayCount"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxArrayCount
    {
        get => _maxArrayCount;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxArrayCount = value;
        }
    }

    /// <summary>The largest size prefix accepted by <see cref="FrameReader"/> for one response frame. Default <see cref="DefaultMaxFrameBytes"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxFrameBytes
    {
        get => _maxFrameBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxFrameBytes = value;
        }
    }
}
