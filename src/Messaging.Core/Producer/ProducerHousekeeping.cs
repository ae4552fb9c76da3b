using Messaging.Cluster;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>
/// The producer's periodic loop: follows metadata changes (moving partitions between senders, releasing the senders
/// of brokers that left), expires batches whose delivery timeout passed, queued or in flight, and drops topics idle
/// for <c>metadata.max.idle.ms</c>.
/// </summary>
internal sealed class ProducerHousekeeping
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(50);

    private readonly RecordAccumulator _accumulator;
    private readonly BrokerSenders _senders;
    private readonly MetadataRefresher _metadata;
    private readonly ProducerLog _log;
    private readonly Clock _clock;
    private readonly long _maxIdleTicks;
    private readonly Action<string> _forgetTopic;
    private readonly Task _loop;

    /// <param name="accumulator">Whose queued batches expire.</param>
    /// <param name="senders">Re-routed after metadata changes; their in-flight batches expire too.</param>
    /// <param name="metadata">Followed, and asked again while records wait for a partition without a reachable leader.</param>
    /// <param name="log">Where a failed round is reported.</param>
    /// <param name="clock">The producer's clock: the period and the deadlines count on it.</param>
    /// <param name="maxIdleTicks">metadata.max.idle.ms: a topic without a batch for this long, and nothing queued or in flight, leaves the producer and its metadata requests.</param>
    /// <param name="stop">Ends the loop.</param>
    public ProducerHousekeeping(RecordAccumulator accumulator, BrokerSenders senders, MetadataRefresher metadata, ProducerLog log, Clock clock, long maxIdleTicks, CancellationToken stop)
    {
        _clock = clock;
        _maxIdleTicks = maxIdleTicks;
        _forgetTopic = topic => metadata.RemoveTopics([topic]);
        _accumulator = accumulator;
        _senders = senders;
        _metadata = metadata;
        _log = log;
        _loop = RunAsync(stop);
    }

    /// <summary>Completes when the loop has ended (after the stop token was cancelled).</summary>
    public Task WhenStoppedAsync() => BackgroundLoop.StoppedAsync(_loop);

    private async Task RunAsync(CancellationToken token)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(Period, _clock.Provider);
        var expired = new List<ProducerBatch>();
        while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
        {
            try
            {
                var current = _metadata.Current;
                if (current.Brokers.Count > 0 && _senders.IsStale(current))
                {
                    _senders.Apply(current);
                }

                _senders.ReleaseDeparted();

                var now = _clock.Now;
                if (_accumulator.ExpireQueued(now, expired))
                {
                    // Records wait for a partition without a reachable leader: keep asking until the metadata names one
                    // (the refresher coalesces and spaces these requests, 100 ms growing to 1 s while nothing changes).
                    _metadata.RequestRefresh();
                }

                foreach (var sender in _senders.All)
                {
                    sender.ExpireInFlight(now, expired);
                }

                // As the Java producer's metadata.max.idle.ms: a topic nobody produces to any more (an RPC client's reply
                // topic, say) stops being asked for; the routing drops its partitions at the next round.
                _accumulator.RetireIdle(now, _maxIdleTicks, _forgetTopic);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _log.HousekeepingFailed(ex);
            }
        }
    }
}
