using Microsoft.Extensions.Logging;

namespace Messaging.Core.Tests.Connection;

/// <summary>A log (factory and logger in one) whose sink throws on the messages <paramref name="throwsOn"/> picks: a plugged-in logger with a bug.</summary>
internal sealed class ThrowingLog(Func<string, bool> throwsOn) : ILoggerFactory, ILogger
{
    /// <summary>How many times it threw.</summary>
    public int Thrown => Volatile.Read(ref _thrown);

    private int _thrown;

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (throwsOn(formatter(state, exception)))
        {
            Interlocked.Increment(ref _thrown);
            throw new InvalidOperationException("the log sink failed");
        }
    }
}
