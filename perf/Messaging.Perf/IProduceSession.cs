namespace Messaging.Perf;

/// <summary>One client's producer for a whole <c>produce</c> run, as an application keeps one, with its own topic.</summary>
internal interface IProduceSession : IAsyncDisposable
{
    string Name { get; }

    /// <summary>The topic it writes (its own, so the broker's count of stored records checks this client alone).</summary>
    string Topic { get; }

    /// <summary>Records produced into <see cref="Topic"/> so far, the priming record included.</summary>
    long Produced { get; }

    /// <summary>For the run's header: the API and every setting that differs from the client's defaults.</summary>
    string Description { get; }

    /// <summary>
    /// Produces one round of the run's records in <paramref name="mode"/>, flushes, and throws unless every record was
    /// delivered (as far as the mode reports it). Returns the ack latencies in latency mode, else null.
    /// </summary>
    Task<LatencySummary?> RunAsync(string mode, CancellationToken cancellationToken);
}
