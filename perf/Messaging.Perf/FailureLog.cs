using Microsoft.Extensions.Logging;

namespace Messaging.Perf;

/// <summary>
/// A logger factory for our producer that counts the records it reports failed when they had no delivery handler
/// (fire-and-forget), from the structured <c>Count</c> of its error event: the only place such failures surface.
/// Everything else logged at Error or above is counted too, and the last message kept for the report.
/// </summary>
internal sealed class FailureLog : ILoggerFactory, ILogger
{
    private const int RecordsFailedWithoutHandlerEvent = 101;

    private long _failedRecords;
    private long _errors;

    public long FailedRecords => Volatile.Read(ref _failedRecords);

    public long Errors => Volatile.Read(ref _errors);

    public string? LastError { get; private set; }

    public void Reset()
    {
        Volatile.Write(ref _failedRecords, 0);
        Volatile.Write(ref _errors, 0);
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        Interlocked.Increment(ref _errors);
        LastError = formatter(state, exception);
        if (eventId.Id == RecordsFailedWithoutHandlerEvent && state is IReadOnlyList<KeyValuePair<string, object?>> fields)
        {
            foreach (var field in fields)
            {
                if (field.Key == "Count" && field.Value is int count)
                {
                    Interlocked.Add(ref _failedRecords, count);
                }
            }
        }
    }

    public void Dispose()
    {
    }
}
