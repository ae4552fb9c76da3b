using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Diagnostics;

/// <summary>
/// The application's logger as the client logs to it: whatever the logger throws (a bug in an
/// <see cref="ILogger"/> implementation, a sink that fails) is dropped. The client logs from its background loops
/// (senders, fetchers, housekeeping, connection watchers) and while it reports an error; a throwing logger must
/// neither end such a loop nor replace the error being reported (a retriable connect failure turned into the
/// logger's exception). The event that failed to log is lost; the client's work goes on.
/// </summary>
/// <remarks>
/// Messaging.Rpc and Messaging.Hosting compile this file in as their own internal type (they use only Core's public
/// API): their loops and the errors they report are guarded the same way.
/// </remarks>
internal sealed class GuardedLogger : ILogger
{
    private readonly ILogger _inner;

    private GuardedLogger(ILogger inner) => _inner = inner;

    /// <summary>The logger of <paramref name="category"/>, guarded (the null logger as is: it never throws).</summary>
    public static ILogger Create(ILoggerFactory factory, string category) => Wrap(factory.CreateLogger(category));

    /// <summary><paramref name="logger"/>, guarded (the null logger, or one guarded already, as is).</summary>
    public static ILogger Wrap(ILogger logger) => logger is NullLogger or GuardedLogger ? logger : new GuardedLogger(logger);

#pragma warning disable CA1031 // Whatever the application's logger throws is dropped: see the type's summary.
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        try
        {
            return _inner.BeginScope(state);
        }
        catch (Exception)
        {
            return null;
        }
    }

    public bool IsEnabled(LogLevel logLevel)
    {
        try
        {
            return _inner.IsEnabled(logLevel);
        }
        catch (Exception)
        {
            return false;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            _inner.Log(logLevel, eventId, state, exception, formatter);
        }
        catch (Exception)
        {
            // The event is lost; the caller goes on.
        }
    }
#pragma warning restore CA1031
}
