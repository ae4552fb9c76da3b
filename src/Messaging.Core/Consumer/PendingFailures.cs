namespace Messaging.Consumer;

/// <summary>
/// The errors a consumer group met in the background — a rebalance listener's, an assignor's, an assignment that
/// cannot be read, a pattern match that timed out — that the next consume calls throw, one per call, in the order
/// they happened, as the Java client's poll rethrows what a rebalance met.
/// </summary>
/// <remarks>
/// Several can happen before the application polls again (a revocation callback and then an assignment callback
/// failing in one rebalance, or one rebalance after another while a batch is processed). Held in one slot, each
/// replaced the one before, and the application never heard of the first. At most <see cref="Capacity"/> are kept:
/// past that, the earliest are kept (what went wrong first usually explains the rest) and a later one is refused,
/// for the caller to log. A member's fatal error is not one of these: it stays with the member and is thrown by every
/// consume call once these have been.
/// </remarks>
internal sealed class PendingFailures
{
    /// <summary>How many errors wait for the application at most.</summary>
    public const int Capacity = 8;

    private readonly Lock _lock = new();
    private readonly Queue<Exception> _errors = new(Capacity);
    private int _count; // read without the lock by every consume call: most find none

    /// <summary>Adds <paramref name="error"/> after those waiting; false (not kept) when <see cref="Capacity"/> already wait.</summary>
    public bool Add(Exception error)
    {
        lock (_lock)
        {
            if (_errors.Count >= Capacity)
            {
                return false;
            }

            _errors.Enqueue(error);
            Volatile.Write(ref _count, _errors.Count);
            return true;
        }
    }

    /// <summary>The earliest error waiting, taken out; null when none waits.</summary>
    public Exception? Take()
    {
        if (Volatile.Read(ref _count) == 0)
        {
            return null;
        }

        lock (_lock)
        {
            if (!_errors.TryDequeue(out var error))
            {
                return null;
            }

            Volatile.Write(ref _count, _errors.Count);
            return error;
        }
    }
}
