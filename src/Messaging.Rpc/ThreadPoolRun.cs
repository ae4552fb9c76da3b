using System.Runtime.ExceptionServices;

namespace Messaging.Rpc;

/// <summary>
/// Up to <see cref="Capacity"/> items handled by one thread-pool work item, one after the other. Why: handing each
/// item to the pool on its own schedules one work item per item, and every work item can wake an idle pool thread — on
/// a small machine the waking (and the woken thread's spinning before it sleeps again) costs more CPU than the items'
/// own work. A consumed batch of 64 becomes 8 work items instead of 64, while up to 8 threads may still take them in
/// parallel. The server starts admitted requests this way (<see cref="RequestRun"/>), the client completes answered
/// calls (<see cref="ReplyRun"/>).
/// </summary>
/// <remarks>
/// Filled by one loop only (one filler, no lock), queued when full or when the loop is done with a batch; pooled by
/// that loop and handed back by <see cref="IThreadPoolWorkItem.Execute"/> once every item in it was handled. An item
/// that blocks synchronously holds up the items after it in its run (at most <see cref="Capacity"/> − 1).
/// </remarks>
/// <typeparam name="TItem">What the run handles.</typeparam>
internal abstract class ThreadPoolRun<TItem> : IThreadPoolWorkItem
    where TItem : class
{
    public const int Capacity = 8;

    private readonly TItem?[] _items = new TItem?[Capacity];
    private int _count;

    public bool IsFull => _count == Capacity;

    public bool IsEmpty => _count == 0;

    public void Add(TItem item) => _items[_count++] = item;

    /// <summary>Queues the run to the thread pool; the filler lets go of it.</summary>
    public void Schedule() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>Handles one item on the pool thread.</summary>
    protected abstract void Handle(TItem item);

    /// <summary>Called once every item was handled and the run is empty: returns it to its filler's pool.</summary>
    protected abstract void Done();

    void IThreadPoolWorkItem.Execute()
    {
        var count = _count;
        _count = 0;
        ExceptionDispatchInfo? failure = null;
        for (var i = 0; i < count; i++)
        {
            var item = _items[i]!;
            _items[i] = null;
            try
            {
                Handle(item);
            }
#pragma warning disable CA1031 // One item that throws must not leave the items after it unhandled; rethrown below.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failure ??= ExceptionDispatchInfo.Capture(ex);
            }
        }

        Done();
        failure?.Throw(); // as the pool would have surfaced it had the item been its own work item
    }
}
