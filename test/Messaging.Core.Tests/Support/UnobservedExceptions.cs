namespace Messaging.Core.Tests.Support;

/// <summary>
/// Counts the <see cref="TaskScheduler.UnobservedTaskException"/> reports that name a marker (a host name in the
/// failure's message) while it is alive: the event is process-wide, so another test's unobserved exceptions do not count.
/// </summary>
internal sealed class UnobservedExceptions : IDisposable
{
    private readonly string _marker;
    private int _count;

    public UnobservedExceptions(string marker)
    {
        _marker = marker;
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    /// <summary>Reports counted so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Collects what is no longer reachable and runs its finalizers, which is where an unobserved failure is reported.</summary>
    public static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    public void Dispose() => TaskScheduler.UnobservedTaskException -= OnUnobserved;

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        if (e.Exception.ToString().Contains(_marker, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _count);
        }
    }
}
