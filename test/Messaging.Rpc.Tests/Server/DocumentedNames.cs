namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// The default header names and media types spelled as docs/rpc.md gives them — not taken from
/// <see cref="RpcHeaderNames"/>: peers written from the document must not lean on the implementation.
/// </summary>
internal static class DocumentedNames
{
    public const string CorrelationIdHeader = "kafka_correlationId";
    public const string ReplyTopicHeader = "kafka_replyTopic";
    public const string ReplyPartitionHeader = "kafka_replyPartition";
    public const string MethodHeader = "messaging_rpc_method";
    public const string DeadlineHeader = "messaging_rpc_deadline";
    public const string ContentTypeHeader = "messaging_rpc_content_type";
    public const string StatusHeader = "messaging_rpc_status";
    public const string ErrorHeader = "messaging_rpc_error";
    public const string Json = "application/json";
    public const string OctetStream = "application/octet-stream";
}
