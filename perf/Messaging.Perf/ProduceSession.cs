using System.Globalization;

namespace Messaging.Perf;

/// <summary>
/// One client's producer for a whole <c>produce</c> run, as an application keeps one, with its own topic. This base
/// runs a round in the run's mode — producing threads, awaiting loops or the pacer — and checks its outcome; the
/// client's subclass produces one record in each calling pattern.
/// </summary>
internal abstract class ProduceSession : IAsyncDisposable
{
    private readonly Action<long> _sendTimed;
    private long _next;

    protected ProduceSession(string topic, ProduceSettings settings)
    {
        Topic = topic;
        Settings = settings;
        Latency = new LatencyRecorder(settings.Mode == "latency" ? settings.Messages : 0);
        _sendTimed = SendTimed;
        Produced = 1; // the priming record
    }

    public abstract string Name { get; }

    /// <summary>For the run's header: the API and every setting that differs from the client's defaults.</summary>
    public abstract string Description { get; }

    /// <summary>The topic it writes (its own, so the broker's count of stored records checks this client alone).</summary>
    public string Topic { get; }

    /// <summary>Records produced into <see cref="Topic"/> so far, the priming record included.</summary>
    public long Produced { get; private set; }

    protected ProduceSettings Settings { get; }

    protected Payloads Payloads => Settings.Payloads;

    protected DeliveryCounter Counter { get; } = new();

    protected LatencyRecorder Latency { get; }

    /// <summary>The index (into <see cref="Payloads"/>) of this round's first record: records differ from round to round.</summary>
    protected long Base { get; private set; }

    /// <summary>
    /// Produces one round of the run's records in <paramref name="mode"/>, flushes, and throws unless every record was
    /// delivered (as far as the mode reports it). Returns the ack latencies in latency mode, else null.
    /// </summary>
    public async Task<LatencySummary?> RunAsync(string mode, CancellationToken cancellationToken)
    {
        var count = Settings.Messages;
        Counter.Reset();
        Latency.Reset();
        OnRoundStarting();
        Base = Produced;
        _next = 0;
        switch (mode)
        {
            case "callback":
            case "fire":
                RunOnThreads(mode == "callback", count);
                break;
            case "tasks":
                var loops = new Task[Settings.Tasks];
                for (var t = 0; t < loops.Length; t++)
                {
                    loops[t] = AwaitingLoopAsync(count, cancellationToken);
                }

                await Task.WhenAll(loops).ConfigureAwait(false);
                break;
            default:
                await Task.Factory.StartNew(() => Pacer.Run(count, Settings.Rate, _sendTimed, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                break;
        }

        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (mode == "latency")
        {
            // The flush completes when the last batch is acknowledged; the awaiting continuations may still be running.
            await Poll.UntilAsync(() => Counter.Delivered + Counter.Failed >= count, TimeSpan.FromSeconds(10), Name + ": not every ProduceAsync completed", cancellationToken).ConfigureAwait(false);
        }

        OnRoundEnded();
        Produced += count;
        Counter.Check(Name, count, counted: mode != "fire");
        return mode == "latency" ? Latency.Summarise() : null;
    }

    public abstract ValueTask DisposeAsync();

    /// <summary>" from N threads" when the run produces from several.</summary>
    protected static string Threads(ProduceSettings settings) => settings.Threads > 1 ? " from " + settings.Threads.ToString(CultureInfo.InvariantCulture) + " threads" : "";

    /// <summary>Produces records <paramref name="first"/>, first + step, … below <paramref name="count"/> (index them from <see cref="Base"/>), with or without a delivery handler.</summary>
    protected abstract void ProduceRange(bool callback, long first, long count, int step);

    /// <summary>One caller: awaits ProduceAsync for the record <see cref="ClaimNext"/> gives it, until it gives none.</summary>
    protected abstract Task AwaitingLoopAsync(long count, CancellationToken cancellationToken);

    /// <summary>Sends record <paramref name="i"/> of the round with ProduceAsync and records its ack latency when it completes.</summary>
    protected abstract void SendTimed(long i);

    /// <summary>Sends everything buffered; completes when every record is acknowledged or failed.</summary>
    protected abstract Task FlushAsync(CancellationToken cancellationToken);

    protected virtual void OnRoundStarting()
    {
    }

    /// <summary>Adds failures that surfaced outside delivery reports (a log, an error handler).</summary>
    protected virtual void OnRoundEnded()
    {
    }

    /// <summary>The round's next record for an awaiting loop (shared by all loops), or -1 when all are taken.</summary>
    protected long ClaimNext(long count)
    {
        var i = Interlocked.Increment(ref _next) - 1;
        return i < count ? i : -1;
    }

    private void RunOnThreads(bool callback, int count)
    {
        if (Settings.Threads <= 1)
        {
            ProduceRange(callback, 0, count, 1);
            return;
        }

        var threads = new Thread[Settings.Threads];
        for (var t = 0; t < threads.Length; t++)
        {
            var first = t;
            threads[t] = new Thread(() => ProduceRange(callback, first, count, threads.Length)) { IsBackground = true, Name = "perf-produce-" + t.ToString(CultureInfo.InvariantCulture) };
            threads[t].Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }
    }
}
