namespace Messaging.Rpc;

/// <summary>The server's counters, updated from any thread.</summary>
internal sealed class ServerCounters
{
    public long Received;
    public long Handled;
    public long HandlerErrors;
    public long Expired;
    public long Unimplemented;
    public long Malformed;
    public long Replies;
    public long ReplyFailures;
    public long Commits;
    public long CommitFailures;
    public long ConsumeErrors;
    public long ReplyCacheHits;

    /// <param name="inFlight">Requests admitted and not finished (the admission control's count).</param>
    public RpcServerStatistics Snapshot(int inFlight) => new(
        Interlocked.Read(ref Received), inFlight, Interlocked.Read(ref Handled), Interlocked.Read(ref HandlerErrors),
        Interlocked.Read(ref Expired), Interlocked.Read(ref Unimplemented), Interlocked.Read(ref Malformed), Interlocked.Read(ref Replies),
        Interlocked.Read(ref ReplyFailures), Interlocked.Read(ref Commits), Interlocked.Read(ref CommitFailures), Interlocked.Read(ref ConsumeErrors),
        Interlocked.Read(ref ReplyCacheHits));
}
