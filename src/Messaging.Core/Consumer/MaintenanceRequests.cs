using Messaging.Threading;

namespace Messaging.Consumer;

/// <summary>
/// How the consumer's parts ask its maintenance loop for work: look at the cursors again (a start position to look
/// up, a leader to find), or refresh metadata first. Kept apart from the loop so the parts that ask need not hold it.
/// </summary>
internal sealed class MaintenanceRequests : IDisposable
{
    private readonly AsyncSignal _signal;
    private bool _refreshWanted;

    /// <param name="clock">The consumer's clock: the loop's waits count on it.</param>
    public MaintenanceRequests(Clock clock) => _signal = new AsyncSignal(clock);

    /// <summary>Whether a metadata refresh was asked for and not yet taken.</summary>
    public bool RefreshWanted => Volatile.Read(ref _refreshWanted);

    /// <summary>Wakes the loop to look at the cursors.</summary>
    public void Wake() => _signal.Set();

    /// <summary>Wakes the loop to refresh metadata, then look at the cursors.</summary>
    public void RequestMetadataRefresh()
    {
        Volatile.Write(ref _refreshWanted, true);
        _signal.Set();
    }

    /// <summary>Whether a refresh was asked for, clearing the request.</summary>
    public bool TakeRefreshRequest() => Interlocked.Exchange(ref _refreshWanted, false);

    /// <summary>Waits for a request or for <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for none). The loop is the one waiter.</summary>
    public ValueTask<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}
