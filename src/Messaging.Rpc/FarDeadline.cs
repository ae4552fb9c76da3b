namespace Messaging.Rpc;

/// <summary>
/// Cancels a token source at a deadline too far away for one timer: timers refuse due times beyond ~49.7 days, and
/// a caller may send a deadline years ahead (any time up to year 9999 is a valid deadline). The timer steps towards
/// the deadline at most <see cref="MaxStep"/> at a time and cancels once it is reached. Owned by whoever owns the source
/// (a server request's context, a client's one-way send), which disposes it with the source (a step that runs
/// meanwhile finds the source disposed and does nothing).
/// </summary>
internal sealed class FarDeadline : IDisposable
{
    /// <summary>
    /// The longest single timer step, and so the longest single timed wait anywhere in the RPC layer (timers refuse
    /// due times beyond ~49.7 days): a wait at most this long may use a token source's own timer; longer waits wait
    /// again or step with a <see cref="FarDeadline"/> (which the client's one-way sends use for any deadline: it runs
    /// on the client's <see cref="TimeProvider"/>).
    /// </summary>
    public static readonly TimeSpan MaxStep = TimeSpan.FromDays(1);

    /// <summary>
    /// The time <paramref name="span"/> after <paramref name="now"/>, saturating at <see cref="DateTimeOffset.MaxValue"/>
    /// (and <see cref="DateTimeOffset.MinValue"/>): a timeout of <see cref="TimeSpan.MaxValue"/> means no deadline, not an error.
    /// </summary>
    public static DateTimeOffset After(DateTimeOffset now, TimeSpan span) =>
        span >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : span <= DateTimeOffset.MinValue - now ? DateTimeOffset.MinValue : now + span;

    /// <summary>One timer's share of a wait with <paramref name="remaining"/> left: all of it up to <see cref="MaxStep"/>, never negative.</summary>
    public static TimeSpan StepOf(TimeSpan remaining) => remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining < MaxStep ? remaining : MaxStep;

    /// <summary>
    /// Waits for <paramref name="task"/> at most <paramref name="timeout"/>, of any length (<see cref="TimeSpan.MaxValue"/>
    /// included), in steps of at most <see cref="MaxStep"/>; <see cref="TimeoutException"/> once the whole of it passed.
    /// </summary>
    public static async Task WaitAsync(Task task, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            var remaining = timeout - time.GetElapsedTime(started);
            try
            {
                await task.WaitAsync(StepOf(remaining), time, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (TimeoutException) when (remaining > MaxStep)
            {
                // This step ran out, not the whole wait.
            }
        }
    }

    private readonly CancellationTokenSource _source;
    private readonly DateTimeOffset _deadline;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;

    public FarDeadline(CancellationTokenSource source, DateTimeOffset deadline, TimeProvider time)
    {
        _source = source;
        _deadline = deadline;
        _time = time;
        _timer = time.CreateTimer(static state => ((FarDeadline)state!).Step(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Step();
    }

    public void Dispose() => _timer.Dispose();

    private void Step()
    {
        var remaining = _deadline - _time.GetUtcNow();
        if (remaining > TimeSpan.Zero)
        {
            _timer.Change(StepOf(remaining), Timeout.InfiniteTimeSpan);
            return;
        }

        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The request finished meanwhile: nothing to cancel.
        }
    }
}
