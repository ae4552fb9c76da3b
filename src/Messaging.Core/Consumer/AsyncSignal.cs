namespace Messaging.Consumer;

/// <summary>
/// A wake-up for one waiting loop: <see cref="Set"/> from anywhere, <see cref="WaitAsync"/> from the loop. Signals
/// do not queue up: any number of sets before a wait wake it once.
/// </summary>
internal sealed class AsyncSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);
    private readonly Lock _lock = new();

    public void Set()
    {
        lock (_lock)
        {
            if (_semaphore.CurrentCount == 0)
            {
                _semaphore.Release();
            }
        }
    }

    /// <summary>Waits for a signal, or <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for none).</summary>
    /// <returns>True when signalled, false on timeout.</returns>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _semaphore.Dispose();
}
