using System.Runtime.InteropServices;

namespace Messaging.Rpc;

/// <summary>A snapshot of an <see cref="RpcClient"/>'s counters.</summary>
/// <param name="PendingCalls">Calls waiting for replies now.</param>
/// <param name="PendingRequestBytes">Request payload bytes of the calls waiting now.</param>
/// <param name="CompletedCalls">Calls completed, in any way, since the client started.</param>
/// <param name="DeadlinesExceeded">Calls that failed because their deadline passed.</param>
/// <param name="UnmatchedReplies">Replies dropped because no pending call had their correlation ID: late (after the deadline), a second reply from the server, or another client's on a shared partition (duplicates of hedged or retried calls count in <see cref="DuplicateReplies"/> instead).</param>
/// <param name="MalformedReplies">Records on the reply partitions dropped for lacking a 16-byte correlation ID.</param>
/// <param name="ConsumeErrors">Errors the reply consumer reported: a record that cannot be read is skipped; a partition the broker refused to serve is read again where it stood after a backoff.</param>
[StructLayout(LayoutKind.Auto)]
public readonly record struct RpcClientStatistics(
    int PendingCalls,
    long PendingRequestBytes,
    long CompletedCalls,
    long DeadlinesExceeded,
    long UnmatchedReplies,
    long MalformedReplies,
    long ConsumeErrors)
{
    /// <summary>Replies dropped because their call was already answered after its request went more than once (a hedge or a retry): the loser of the race.</summary>
    public long DuplicateReplies { get; init; }
}
