namespace Messaging.Rpc;

/// <summary>
/// Answered calls completed by one thread-pool work item, each running its caller's continuation in place: callers
/// never run on the reply loop, and a fetch with 24 replies wakes the pool with 3 work items instead of 24.
/// </summary>
/// <remarks>Filled by the reply loop with calls it claimed and whose replies it decoded (<see cref="PendingCall.TryDecodeReply"/>).</remarks>
internal sealed class ReplyRun : ThreadPoolRun<PendingCall>
{
    private readonly Action<ReplyRun> _returnToPool;

    public ReplyRun(Action<ReplyRun> returnToPool) => _returnToPool = returnToPool;

    protected override void Handle(PendingCall item) => item.CompleteWithReply();

    protected override void Done() => _returnToPool(this);
}
