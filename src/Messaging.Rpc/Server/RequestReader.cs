using System.Buffers.Binary;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// Reads a request's RPC headers in one pass (the last occurrence of a header counts, as on the wire) and says what
/// the server must do with it: run a method, answer with an error status, or drop it. Never throws on any header
/// content: garbled headers become <see cref="ServerRequest.Problem"/> (answered with InvalidArgument when the reply
/// route is readable) or an unreadable route (dropped and counted).
/// </summary>
internal sealed class RequestReader
{
    // Deadlines outside DateTimeOffset's range are garbled, not a reason to throw.
    private static readonly long MinUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private readonly RpcWire _wire;
    private readonly MethodRegistry _methods;
    private readonly ReplyTopicNames _topics;

    public RequestReader(RpcWire wire, MethodRegistry methods, ReplyTopicNames topics)
    {
        _wire = wire;
        _methods = methods;
        _topics = topics;
    }

    /// <summary>Fills the request's routing, method and deadline from a consumed record's headers. False: no usable reply route and nothing to run — drop it.</summary>
    public bool Read(ServerRequest request, RecordHeaders headers)
    {
        var found = default(Found);
        foreach (var header in headers)
        {
            Accept(ref found, header);
        }

        return Finish(request, ref found);
    }

    /// <summary>As <see cref="Read(ServerRequest, RecordHeaders)"/>, from headers built by hand (tests).</summary>
    public bool Read(ServerRequest request, ReadOnlySpan<RecordHeader> headers)
    {
        var found = default(Found);
        foreach (var header in headers)
        {
            Accept(ref found, header);
        }

        return Finish(request, ref found);
    }

    private void Accept(ref Found found, in RecordHeader header)
    {
        var key = header.KeyUtf8.Span;
        if (key.SequenceEqual(_wire.CorrelationId))
        {
            found.CorrelationId = header;
            found.Has |= Seen.CorrelationId;
        }
        else if (key.SequenceEqual(_wire.ReplyTopic))
        {
            found.ReplyTopic = header;
            found.Has |= Seen.ReplyTopic;
        }
        else if (key.SequenceEqual(_wire.ReplyPartition))
        {
            found.ReplyPartition = header;
            found.Has |= Seen.ReplyPartition;
        }
        else if (key.SequenceEqual(_wire.Method))
        {
            found.Method = header;
            found.Has |= Seen.Method;
        }
        else if (key.SequenceEqual(_wire.Deadline))
        {
            found.Deadline = header;
            found.Has |= Seen.Deadline;
        }
        else if (key.SequenceEqual(_wire.ContentType))
        {
            found.ContentType = header;
            found.Has |= Seen.ContentType;
        }
    }

    private bool Finish(ServerRequest request, ref Found found)
    {
        // The route first: without one, errors cannot be reported, only counted.
        var hasId = (found.Has & Seen.CorrelationId) != 0 && !found.CorrelationId.IsValueNull && !found.CorrelationId.Value.IsEmpty;
        var hasTopic = (found.Has & Seen.ReplyTopic) != 0 && !found.ReplyTopic.IsValueNull;
        if (hasId != hasTopic)
        {
            return false; // half a route: a reply could not be matched or could not be sent
        }

        if (hasId)
        {
            request.ReplyTopic = _topics.Get(found.ReplyTopic.Value.Span);
            if (request.ReplyTopic is null)
            {
                return false;
            }

            if ((found.Has & Seen.ReplyPartition) != 0)
            {
                var value = found.ReplyPartition.Value.Span;
                var partition = value.Length == 4 ? BinaryPrimitives.ReadInt32BigEndian(value) : -1;
                if (partition < 0)
                {
                    request.ReplyTopic = null;
                    return false;
                }

                request.ReplyPartition = partition;
            }

            request.CorrelationId = found.CorrelationId.Value;
        }

        if ((found.Has & Seen.Method) == 0 || found.Method.IsValueNull)
        {
            return Garbled(request, "the request has no method header");
        }

        var method = _methods.Find(found.Method.Value.Span);
        if (method is null)
        {
            request.UnknownMethod = Utf8Text(found.Method.Value.Span);
        }

        request.Method = method;
        if ((found.Has & Seen.Deadline) != 0)
        {
            var value = found.Deadline.Value.Span;
            long ms;
            if (value.Length != RpcWire.DeadlineLength || (ms = BinaryPrimitives.ReadInt64BigEndian(value)) < MinUnixMs || ms > MaxUnixMs)
            {
                return Garbled(request, "the deadline header is not an 8-byte Unix time in milliseconds");
            }

            request.Deadline = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        if (method is not null && !method.AcceptsAnyContentType && (found.Has & Seen.ContentType) != 0 && !found.ContentType.IsValueNull
            && !found.ContentType.Value.Span.SequenceEqual(method.ContentTypeUtf8))
        {
            return Garbled(request, "content type '" + Utf8Text(found.ContentType.Value.Span) + "' is not the method's ('" + method.ContentType + "')");
        }

        return true;
    }

    /// <summary>Marks the request InvalidArgument; true (answer it) when it has a route, false (drop it) when not.</summary>
    private static bool Garbled(ServerRequest request, string message)
    {
        request.Problem = RpcStatus.InvalidArgument;
        request.ProblemMessage = message;
        return request.HasRoute;
    }

    /// <summary>Header text for an error message (any bytes: invalid UTF-8 becomes replacement characters).</summary>
    private static string Utf8Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes.Length > 256 ? bytes[..256] : bytes);

    [Flags]
    private enum Seen
    {
        None = 0,
        CorrelationId = 1,
        ReplyTopic = 2,
        ReplyPartition = 4,
        Method = 8,
        Deadline = 16,
        ContentType = 32,
    }

    private struct Found
    {
        public Seen Has;
        public RecordHeader CorrelationId;
        public RecordHeader ReplyTopic;
        public RecordHeader ReplyPartition;
        public RecordHeader Method;
        public RecordHeader Deadline;
        public RecordHeader ContentType;
    }
}
