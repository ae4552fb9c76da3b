namespace Messaging.Rpc;

/// <summary>
/// Admitted requests started by one thread-pool work item, each up to its handler's first await (a handler that
/// completes synchronously is finished there and then).
/// </summary>
/// <remarks>Filled by the request loop; every request in a run has the same runner (the loop).</remarks>
internal sealed class RequestRun : ThreadPoolRun<ServerRequest>
{
    private readonly Action<RequestRun> _returnToPool;
    private IRequestRunner? _runner;

    public RequestRun(Action<RequestRun> returnToPool) => _returnToPool = returnToPool;

    public void Add(ServerRequest request, IRequestRunner runner)
    {
        _runner = runner;
        Add(request);
    }

    protected override void Handle(ServerRequest item) => item.Start(_runner!);

    protected override void Done()
    {
        _runner = null;
        _returnToPool(this);
    }
}
