using System.Buffers.Binary;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// The wire format's header names as UTF-8 (encoded once) and its value encodings: correlation IDs as 16 bytes
/// (a UUID's big-endian bytes, as Java's <c>UUID</c> and Spring write them), integers and times big-endian.
/// </summary>
internal sealed class RpcWire
{
    /// <summary>Bytes of a correlation ID header value.</summary>
    public const int CorrelationIdLength = 16;

    /// <summary>Bytes of a deadline header value (Unix milliseconds, signed 64-bit big-endian).</summary>
    public const int DeadlineLength = 8;

    public RpcWire(RpcHeaderNames names)
    {
        CorrelationId = Encoding.UTF8.GetBytes(names.CorrelationId);
        ReplyTopic = Encoding.UTF8.GetBytes(names.ReplyTopic);
        ReplyPartition = Encoding.UTF8.GetBytes(names.ReplyPartition);
        Method = Encoding.UTF8.GetBytes(names.Method);
        Deadline = Encoding.UTF8.GetBytes(names.Deadline);
        ContentType = Encoding.UTF8.GetBytes(names.ContentType);
        Status = Encoding.UTF8.GetBytes(names.Status);
        ErrorMessage = Encoding.UTF8.GetBytes(names.ErrorMessage);
    }

    public byte[] CorrelationId { get; }

    public byte[] ReplyTopic { get; }

    public byte[] ReplyPartition { get; }

    public byte[] Method { get; }

    public byte[] Deadline { get; }

    public byte[] ContentType { get; }

    public byte[] Status { get; }

    public byte[] ErrorMessage { get; }

    /// <summary>True when <paramref name="header"/> is named as one of the headers a request carries of its own: routing, method, deadline, content type.</summary>
    public bool IsRequestHeader(in RecordHeader header) =>
        header.KeyEquals(CorrelationId) || header.KeyEquals(ReplyTopic) || header.KeyEquals(ReplyPartition) || header.KeyEquals(Method)
        || header.KeyEquals(Deadline) || header.KeyEquals(ContentType);

    public static void WriteCorrelationId(Guid id, Span<byte> destination) => id.TryWriteBytes(destination, bigEndian: true, out _);

    /// <summary>Reads a correlation ID; false when the value is not exactly 16 bytes.</summary>
    public static bool TryReadCorrelationId(ReadOnlySpan<byte> value, out Guid id)
    {
        if (value.Length != CorrelationIdLength)
        {
            id = default;
            return false;
        }

        id = new Guid(value, bigEndian: true);
        return true;
    }

    /// <summary>The highest status code the wire carries (gRPC's set ends at Unauthenticated = 16).</summary>
    public const RpcStatus HighestStatus = RpcStatus.Unauthenticated;

    /// <summary>True for a status a reply can carry as sent; any other number reads as <see cref="RpcStatus.Unknown"/>.</summary>
    public static bool IsKnownStatus(int status) => status is >= 0 and <= (int)HighestStatus;

    /// <summary>The encoded status header values, one per known status, shared (never written to).</summary>
    public static readonly byte[][] StatusValues = CreateStatusValues();

    public static byte[] EncodeInt32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    public static void WriteDeadline(DateTimeOffset deadline, Span<byte> destination) =>
        BinaryPrimitives.WriteInt64BigEndian(destination, deadline.ToUnixTimeMilliseconds());

    /// <summary>Reads a status header; an absent header is OK, a malformed one <see cref="RpcStatus.Unknown"/>.</summary>
    public RpcStatus ReadStatus(RecordHeaders headers)
    {
        if (!headers.TryGetLast(Status, out var header))
        {
            return RpcStatus.Ok;
        }

        var value = header.Value.Span;
        if (value.Length != 4)
        {
            return RpcStatus.Unknown;
        }

        var status = BinaryPrimitives.ReadInt32BigEndian(value);
        return IsKnownStatus(status) ? (RpcStatus)status : RpcStatus.Unknown;
    }

    /// <summary>The error message of a failed reply (decoded: it leaves the pooled record inside an exception), or null.</summary>
    public string? ReadErrorMessage(RecordHeaders headers) =>
        headers.TryGetLast(ErrorMessage, out var header) && !header.IsValueNull ? Encoding.UTF8.GetString(header.Value.Span) : null;

    private static byte[][] CreateStatusValues()
    {
        var values = new byte[(int)HighestStatus + 1][];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = EncodeInt32(i);
        }

        return values;
    }
}
