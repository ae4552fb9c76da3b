namespace Messaging.Perf;

/// <summary>
/// One client's producer and consumer on their own topic for an <c>e2e</c> run. The consumer reads all the time and
/// hands every value to <see cref="OnConsumed"/>; this base paces a round's records, checks their delivery and
/// returns the produce → consumed latencies; the client's subclass sends one record and flushes.
/// </summary>
internal abstract class E2eSession : IAsyncDisposable
{
    private readonly Action<long> _send;
    private long _primed;

    protected E2eSession(ProduceSettings settings, ConsumeSettings consumeSettings)
    {
        Settings = settings;
        ConsumeSettings = consumeSettings;
        Latency = new LatencyRecorder(settings.Messages);
        Scratch = new byte[settings.Payloads.ValueSize];
        _send = Send;
    }

    public abstract string Name { get; }

    /// <summary>For the run's header: both APIs and the settings that differ from the client's defaults.</summary>
    public abstract string Description { get; }

    protected ProduceSettings Settings { get; }

    protected ConsumeSettings ConsumeSettings { get; }

    protected DeliveryCounter Counter { get; } = new();

    protected LatencyRecorder Latency { get; }

    /// <summary>The value being sent, stamped (<see cref="E2eStamp"/>); both clients copy it before Produce returns, so one serves every record.</summary>
    protected byte[] Scratch { get; }

    /// <summary>The index (into the payloads) of this round's first record.</summary>
    protected long Base { get; private set; }

    /// <summary>Sends a record stamped 0 and waits until the consumer has read it: connections are up and the assignment positioned.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await SendPrimingAsync(new byte[Math.Max(E2eStamp.Size, Settings.Payloads.ValueSize)], cancellationToken).ConfigureAwait(false);
            await Poll.UntilAsync(() => Volatile.Read(ref _primed) > 0, TimeSpan.FromSeconds(60), Name + ": the consumer did not read the priming record", cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Produces <c>--messages</c> records paced at <c>--rate</c>, each stamped with its send time, and returns the
    /// produce → consumed latencies once the consumer has seen every one (throws if it has not within the deadline
    /// or if a delivery failed).
    /// </summary>
    public async Task<LatencySummary> RunRoundAsync(CancellationToken cancellationToken)
    {
        var count = Settings.Messages;
        Counter.Reset();
        Latency.Reset();
        OnRoundStarting();
        await Task.Factory.StartNew(() => Pacer.Run(count, Settings.Rate, _send, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        Base += count;
        OnRoundEnded();
        Counter.Check(Name, count, counted: true);
        try
        {
            await Poll.UntilAsync(() => Latency.Count >= count, TimeSpan.FromSeconds(60), Name + ": the consumer did not see every record", cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            // Usually the embedded broker's retention (about 5 MB per partition) dropped records before a lagging consumer read them.
            throw new TimeoutException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{ex.Message} It saw {Latency.Count} of {count}; the embedded broker keeps about 5 MB per partition, so with large records use more --partitions or a lower --rate."), ex);
        }

        return Latency.Summarise();
    }

    public abstract ValueTask DisposeAsync();

    /// <summary>Called by the consumer for every record it reads: times it, or counts the priming record.</summary>
    protected void OnConsumed(ReadOnlySpan<byte> value)
    {
        var sent = E2eStamp.Read(value);
        if (sent == 0)
        {
            Interlocked.Increment(ref _primed);
        }
        else
        {
            Latency.RecordSince(sent);
        }
    }

    /// <summary>Produces record <paramref name="i"/> of the round (stamp it into <see cref="Scratch"/>) with a delivery handler counting into <see cref="Counter"/>.</summary>
    protected abstract void Send(long i);

    protected abstract Task SendPrimingAsync(byte[] value, CancellationToken cancellationToken);

    protected abstract Task FlushAsync(CancellationToken cancellationToken);

    protected virtual void OnRoundStarting()
    {
    }

    /// <summary>Adds failures that surfaced outside delivery reports.</summary>
    protected virtual void OnRoundEnded()
    {
    }
}
