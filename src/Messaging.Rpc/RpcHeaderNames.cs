namespace Messaging.Rpc;

/// <summary>
/// The record header names of the RPC wire format (see <c>docs/rpc.md</c>). Routing headers default to Spring for
/// Apache Kafka's, so that Java services built on <c>ReplyingKafkaTemplate</c> and <c>@SendTo</c> interoperate; the
/// others share one <see cref="Prefix"/>. Each name can be set on its own; an unset one derives from the prefix.
/// Plain settable properties, bindable from configuration.
/// </summary>
public sealed class RpcHeaderNames
{
    private string? _method;
    private string? _deadline;
    private string? _contentType;
    private string? _status;
    private string? _errorMessage;

    /// <summary>The prefix of the headers that are not Spring's. Default <c>messaging_rpc_</c>.</summary>
    public string Prefix { get; set; } = "messaging_rpc_";

    /// <summary>The 16-byte correlation ID, on the request and copied to the reply. Default <c>kafka_correlationId</c> (Spring's).</summary>
    public string CorrelationId { get; set; } = "kafka_correlationId";

    /// <summary>The reply topic (UTF-8), on the request. Default <c>kafka_replyTopic</c> (Spring's).</summary>
    public string ReplyTopic { get; set; } = "kafka_replyTopic";

    /// <summary>The reply partition (4-byte big-endian signed integer), on the request. Default <c>kafka_replyPartition</c> (Spring's).</summary>
    public string ReplyPartition { get; set; } = "kafka_replyPartition";

    /// <summary>The method name (UTF-8), on the request. Default <see cref="Prefix"/> + <c>method</c>.</summary>
    public string Method
    {
        get => _method ?? Prefix + "method";
        set => _method = value;
    }

    /// <summary>The absolute deadline (8-byte big-endian Unix time in milliseconds), on the request. Default <see cref="Prefix"/> + <c>deadline</c>.</summary>
    public string Deadline
    {
        get => _deadline ?? Prefix + "deadline";
        set => _deadline = value;
    }

    /// <summary>The payload's content type (UTF-8), on requests and replies. Default <see cref="Prefix"/> + <c>content_type</c>.</summary>
    public string ContentType
    {
        get => _contentType ?? Prefix + "content_type";
        set => _contentType = value;
    }

    /// <summary>The status (4-byte big-endian signed integer, an <see cref="RpcStatus"/>), on the reply; absent means OK. Default <see cref="Prefix"/> + <c>status</c>.</summary>
    public string Status
    {
        get => _status ?? Prefix + "status";
        set => _status = value;
    }

    /// <summary>The error message (UTF-8), on a reply whose status is not OK. Default <see cref="Prefix"/> + <c>error</c>.</summary>
    public string ErrorMessage
    {
        get => _errorMessage ?? Prefix + "error";
        set => _errorMessage = value;
    }

    internal void Validate()
    {
        string[] names = [CorrelationId, ReplyTopic, ReplyPartition, Method, Deadline, ContentType, Status, ErrorMessage];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException("Every RPC header name must be set (an empty name was given).", nameof(RpcClientOptions.Headers));
            }

            if (!seen.Add(name))
            {
                throw new ArgumentException("RPC header names must differ: '" + name + "' is used twice.", nameof(RpcClientOptions.Headers));
            }
        }
    }
}
