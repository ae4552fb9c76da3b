namespace Messaging.Perf;

/// <summary>One client's producer and consumer on their own topic for an <c>e2e</c> run; the consumer reads all the time.</summary>
internal interface IE2eSession : IAsyncDisposable
{
    string Name { get; }

    /// <summary>For the run's header: both APIs and the settings that differ from the client's defaults.</summary>
    string Description { get; }

    /// <summary>
    /// Produces <c>--messages</c> records paced at <c>--rate</c>, each stamped with its send time, and returns the
    /// produce → consumed latencies once the consumer has seen every one (throws if it has not within the deadline
    /// or if a delivery failed).
    /// </summary>
    Task<LatencySummary> RunRoundAsync(CancellationToken cancellationToken);
}
