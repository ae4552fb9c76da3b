namespace Messaging.Rpc;

/// <summary>
/// Up to <see cref="Capacity"/> admitted requests started by one thread-pool work item, one after the other, each up to
/// its handler's first await (a handler that completes synchronously is finished there and then). Why: every work item
/// can wake an idle pool thread, and on a small machine waking threads costs more CPU than short handlers do; a run
/// turns a consumed batch of 64 requests into 8 work items instead of 64, while still letting up to 8 threads start
/// them in parallel.
/// </summary>
/// <remarks>
/// Filled by the request loop only (one filler, no lock), queued when full or when the loop is done admitting a
/// batch; pooled by the loop and handed back by <see cref="IThreadPoolWorkItem.Execute"/> once every request in it was
/// started. A handler that blocks synchronously holds up the requests after it in its run (at most 7).
/// </remarks>
internal sealed class RequestRun : IThreadPoolWorkItem
{
    public const int Capacity = 8;

    private readonly ServerRequest?[] _requests = new ServerRequest?[Capacity];
    private readonly Action<RequestRun> _returnToPool;
    private IRequestRunner? _runner;
    private int _count;

    public RequestRun(Action<RequestRun> returnToPool) => _returnToPool = returnToPool;

    public bool IsFull => _count == Capacity;

    public bool IsEmpty => _count == 0;

    public void Add(ServerRequest request, IRequestRunner runner)
    {
        _runner = runner;
        _requests[_count++] = request;
    }

    /// <summary>Queues the run to the thread pool; the filler lets go of it.</summary>
    public void Schedule() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute()
    {
        var runner = _runner!;
        var count = _count;
        for (var i = 0; i < count; i++)
        {
            var request = _requests[i]!;
            _requests[i] = null;
            request.Start(runner);
        }

        _count = 0;
        _runner = null;
        _returnToPool(this);
    }
}
