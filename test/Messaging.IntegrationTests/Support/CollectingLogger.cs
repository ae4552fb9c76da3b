using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Messaging.IntegrationTests.Support;

/// <summary>An <see cref="ILoggerFactory"/> that keeps every log line, to assert on or print when a test fails.</summary>
internal sealed class CollectingLogger : ILoggerFactory, ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue(DateTime.UtcNow.ToString("HH:mm:ss.fff") + " " + logLevel + " " + formatter(state, exception) + (exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message));

    public override string ToString() => string.Join(Environment.NewLine, _lines);
}
