using System.Runtime.InteropServices;

namespace Messaging.Rpc;

/// <summary>A snapshot of an <see cref="RpcServer"/>'s counters (since it was created).</summary>
/// <param name="Received">Request records taken from the request topics.</param>
/// <param name="InFlight">Requests admitted and not finished now (handler running or reply unacknowledged).</param>
/// <param name="Handled">Requests whose handler ran (to success or failure).</param>
/// <param name="HandlerErrors">Handlers that threw (an <see cref="RpcException"/> included).</param>
/// <param name="Expired">Requests skipped because their deadline had passed before the handler could run.</param>
/// <param name="Unimplemented">Requests for a method the server does not have.</param>
/// <param name="Malformed">Requests with missing or garbled RPC headers (answered with InvalidArgument when their reply route was readable, dropped otherwise).</param>
/// <param name="Replies">Replies the broker acknowledged.</param>
/// <param name="ReplyFailures">Replies the producer gave up on (the request still counts as done, so later commits are not held back).</param>
/// <param name="Commits">Offset commits that succeeded.</param>
/// <param name="CommitFailures">Offset commits that failed (retried with the next commit).</param>
/// <param name="ConsumeErrors">Errors the request consumer reported. The partition goes on: past a record that cannot be read, back to where a truncated log diverges, to the log's start from a position outside the log, or — after a pause — again from the same offset when the broker could not serve it.</param>
/// <param name="ReplyCacheHits">Duplicate requests answered from the reply cache (<see cref="RpcServerOptions.ReplyCache"/>) without running their handler.</param>
[StructLayout(LayoutKind.Auto)]
public readonly record struct RpcServerStatistics(
    long Received,
    int InFlight,
    long Handled,
    long HandlerErrors,
    long Expired,
    long Unimplemented,
    long Malformed,
    long Replies,
    long ReplyFailures,
    long Commits,
    long CommitFailures,
    long ConsumeErrors,
    long ReplyCacheHits = 0);
