namespace Messaging.Groups;

/// <summary>
/// Wakes one background loop: <see cref="Set"/> from anywhere; <see cref="WaitAsync"/> returns on a signal (or one
/// that came since the last wait), at the timeout measured on the given <see cref="TimeProvider"/>, or on
/// cancellation. Group loops wake a few times per heartbeat interval, so the task per wait costs nothing that matters.
/// </summary>
internal sealed class LoopSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set()
    {
        lock (_lock)
        {
            _next.TrySetResult();
        }
    }

    /// <returns>True when signalled, false at the timeout.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Task signal;
        lock (_lock)
        {
            signal = _next.Task;
        }

        if (!signal.IsCompleted && timeout != TimeSpan.Zero)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(timeout < TimeSpan.Zero ? Timeout.InfiniteTimeSpan : timeout, time, stop.Token);
            await Task.WhenAny(signal, delay).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_next.Task.IsCompleted)
            {
                return false;
            }

            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return true;
        }
    }
}
