using System.Collections.Concurrent;
using Messaging.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Messaging.Hosting;

/// <summary>
/// The hosted consumer of one handler type: subscribes its consumer to the topics as a group member, hands every
/// record to the partition's <see cref="PartitionWorker{TKey, TValue}"/> (order per partition, parallel across
/// partitions), and on host stop drains, commits and leaves.
/// </summary>
/// <remarks>
/// <para>Commits: the consumer runs with <c>EnableAutoOffsetStore = false</c> and automatic commits. A worker stores a
/// record's offset after its handler returned, in partition order, and the consumer's timer commits what is stored
/// (<c>AutoCommitInterval</c>). This keeps commits off the handling path (no commit round trip per record, one commit
/// for every partition at a time) and lets the consumer's own revocation path do the right thing: it calls this
/// listener — which waits for the revoked partitions' handlers in flight, so their offsets are stored — and commits
/// the stored offsets after it, with the generation that still owns them. Explicit commits would add a second timer
/// and a race with that revocation commit for no gain. On host stop the last stored offsets are committed explicitly
/// (a failure is logged), then disposing the consumer leaves the group.</para>
/// <para>A member that failed for good (fenced, not authorized) surfaces from the consume call at once, also while it
/// waits on an idle assignment (the consumer wakes its waiter), and ends the service with that error.</para>
/// </remarks>
internal sealed class KafkaConsumerHandlerService<THandler, TKey, TValue> : BackgroundService, IConsumerRebalanceListener
    where THandler : class, IKafkaRecordHandler<TKey, TValue>
{
    private readonly IServiceProvider _provider;
    private readonly string _name;
    private readonly KafkaConsumerHandlerStatus _status;
    private readonly ConsumerHandlerLog _log;
    private readonly ConcurrentDictionary<TopicPartition, PartitionWorker<TKey, TValue>> _workers = new();

    // Cancelled when the host's stop token runs out (its shutdown timeout) before the stop's drain ended. Never
    // disposed: it has no timer, and the stop may still read it after the container disposed this service.
    private readonly CancellationTokenSource _hostGaveUp = new();
    private RecordProcessor<TKey, TValue>? _processor;
    private TimeProvider _time = TimeProvider.System;
    private TimeSpan _drainTimeout;

    public KafkaConsumerHandlerService(IServiceProvider provider, string name)
    {
        _provider = provider;
        _name = name;
        _status = provider.GetRequiredKeyedService<KafkaConsumerHandlerStatus>(name);
        var loggerFactory = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        _log = new ConsumerHandlerLog(loggerFactory.CreateLogger("Messaging.Hosting.KafkaConsumerHandler"));
    }

    public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var processor = _processor!;
        foreach (var partition in partitions)
        {
            _status.PartitionReleased(partition); // a partition stopped earlier starts over from its committed offset
            var worker = new PartitionWorker<TKey, TValue>(partition, processor);
            if (_workers.TryAdd(partition, worker))
            {
                continue;
            }

            worker.Abandon(); // already running (assigned twice without a revocation): keep the first
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Waits (up to the drain timeout) for the handlers in flight on the revoked partitions, so their offsets are
    /// stored before the consumer commits, right after this returns; records queued behind them are dropped and read
    /// again by the next owner from that commit.
    /// </summary>
    public async ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var closing = new List<PartitionWorker<TKey, TValue>>(partitions.Count);
        foreach (var partition in partitions)
        {
            _status.PartitionReleased(partition);
            if (_workers.TryRemove(partition, out var worker))
            {
                worker.Close();
                closing.Add(worker);
            }
        }

        await DrainAsync(closing, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lost partitions may already be another member's: their handlers are cancelled and nothing of them is stored.</summary>
    public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        foreach (var partition in partitions)
        {
            _status.PartitionReleased(partition);
            if (_workers.TryRemove(partition, out var worker))
            {
                worker.Abandon();
            }
        }

        return ValueTask.CompletedTask;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _status.Starting();
        return base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Stops as <see cref="BackgroundService"/> does — returns when the stop ended or the host's token runs out — and
    /// when the host's token runs out first, the drain is cut short: the handlers still running are cancelled (their
    /// records are not committed and run again elsewhere) and the member goes on to leave, instead of running on, up
    /// to the drain timeout, after the host moved on and disposed the container under them.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // Returned with the token cancelled: the host stopped waiting. (Not a registration on the token: base's own
        // registration may resume this method inline while the token runs its callbacks, and disposing ours then
        // would drop it before it ran.)
        if (cancellationToken.IsCancellationRequested)
        {
            await _hostGaveUp.CancelAsync().ConfigureAwait(false);
        }
    }

    public override void Dispose()
    {
        _processor?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // the host's start goes on; the consumer joins in the background
        KafkaConsumer? consumer = null;
        try
        {
            var options = _provider.GetRequiredService<IOptionsMonitor<KafkaConsumerHandlerOptions>>().Get(_name);
            var consumerOptions = _provider.GetRequiredService<IOptionsMonitor<KafkaConsumerOptions>>().Get(_name);
            _time = consumerOptions.TimeProvider;
            _drainTimeout = options.DrainTimeout;
            consumer = _provider.GetRequiredKeyedService<KafkaConsumer>(_name);
            var capture = new RecordCapture(copyBytes: options.DeadLetterTopic is not null);
            var typed = new KafkaConsumer<TKey, TValue>(consumer,
                new CapturingDeserializer<TKey>(DefaultDeserializers.Find<TKey>(_provider)!, capture),
                new CapturingDeserializer<TValue>(DefaultDeserializers.Find<TValue>(_provider)!, capture));
            _processor = new RecordProcessor<TKey, TValue>(_status.Name, options, _provider.GetRequiredService<IServiceScopeFactory>(),
                static provider => provider.GetRequiredService<THandler>(), consumer, DeadLetters(options), _status, _log, _time);

            typed.Subscribe(options.Topics, this);
            _status.Running(consumer);
            _log.Subscribed(_status.Name, options.Topics, consumerOptions.GroupId!);
            await ConsumeAsync(typed, capture, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The service reports a failure through its health check and log; it does not take the host down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.MemberFailed(_status.Name, ex);
            _status.Failed(ex);
        }
        finally
        {
            await StopConsumerAsync(consumer).ConfigureAwait(false);
        }
    }

    private DeadLetterWriter? DeadLetters(KafkaConsumerHandlerOptions options)
    {
        if (options.DeadLetterTopic is not { } topic)
        {
            return null;
        }

        var producer = options.DeadLetterProducerKey is { } key
            ? _provider.GetRequiredKeyedService<IKafkaProducer>(key)
            : _provider.GetRequiredService<IKafkaProducer>();
        return new DeadLetterWriter(producer, topic);
    }

    /// <summary>The consume loop: until the host stops or the member fails (its exception propagates).</summary>
    private async Task ConsumeAsync(KafkaConsumer<TKey, TValue> typed, RecordCapture capture, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var record in typed.ConsumeAsync(stoppingToken).ConfigureAwait(false))
                {
                    Dispatch(record, capture);
                }
            }
            catch (ConsumeException ex)
            {
                // A partition the consumer itself cannot read on (corrupt data, a broker error that does not go away):
                // the consumer holds it at the failing offset; the others go on.
                _log.ConsumeFailed(_status.Name, ex.TopicPartition, ex.Offset, ex);
                _status.PartitionStopped(ex.TopicPartition, "the consumer holds it at offset " + ex.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": " + ex.Message);
            }
            catch (KafkaGroupException ex) when (ex.Code == ErrorCode.None)
            {
                // A rebalance the member went through without leaving its group (an assignment it could not use, a
                // custom assignor's result refused): reported so it is seen; the member has rejoined and stays in.
                _log.RebalanceFailed(_status.Name, ex);
            }
        }
    }

    private void Dispatch(ConsumeResult<TKey, TValue> record, RecordCapture capture)
    {
        if (!_workers.TryGetValue(record.TopicPartition, out var worker) || record.Offset < worker.NextOffset)
        {
            return; // revoked between its delivery and now, or already queued
        }

        bool current = capture.Offset == record.Offset && capture.Partition == record.TopicPartition;
        var item = new WorkItem<TKey, TValue>(record,
            current ? capture.Key : null,
            current ? capture.Value : null,
            capture.FailedFor(record.TopicPartition, record.Offset) ? capture.Failure : null);
        worker.TryEnqueue(item);
    }

    /// <summary>Host stop (or a failure): drain the handlers in flight, commit what they stored, leave the group.</summary>
    private async Task StopConsumerAsync(KafkaConsumer? consumer)
    {
        var workers = new List<PartitionWorker<TKey, TValue>>(_workers.Count);
        int inFlight = 0;
        foreach (var partition in _workers.Keys)
        {
            // Removed, so the revocation that disposing the consumer runs does not wait for them a second time.
            if (!_workers.TryRemove(partition, out var worker))
            {
                continue;
            }

            worker.Close();
            workers.Add(worker);
            inFlight += worker.InFlight ? 1 : 0;
        }

        // Only now, with every partition closed: from "stopping" on, no handler starts (one waiting for a concurrency
        // slot gives up). Reported before the close, a slot freed meanwhile started queued records while stopping.
        if (_status.Current != KafkaConsumerHandlerStatus.State.Failed)
        {
            _status.Stopping();
        }

        if (inFlight > 0)
        {
            _log.Draining(_status.Name, _drainTimeout, inFlight);
        }

        var hostGaveUp = _hostGaveUp.Token;
        await DrainAsync(workers, hostGaveUp).ConfigureAwait(false);
        if (consumer is not null)
        {
            if (_status.Current != KafkaConsumerHandlerStatus.State.Failed && !hostGaveUp.IsCancellationRequested)
            {
                // Skipped once the host gave up: disposing the consumer commits what is stored all the same.
                using var bounded = new CancellationTokenSource(_drainTimeout, _time);
                using var either = CancellationTokenSource.CreateLinkedTokenSource(bounded.Token, hostGaveUp);
                try
                {
                    await consumer.CommitAsync(either.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is KafkaException or OperationCanceledException)
                {
                    _log.CommitFailed(_status.Name, ex);
                }
            }

            await consumer.DisposeAsync().ConfigureAwait(false); // leaves the group (a dynamic member), closes
        }

        _status.Stopped();
        _log.Stopped(_status.Name);
    }

    /// <summary>Waits for closed workers up to the drain timeout; those still running then are abandoned.</summary>
    private async Task DrainAsync(List<PartitionWorker<TKey, TValue>> workers, CancellationToken cancellationToken)
    {
        if (workers.Count == 0)
        {
            return;
        }

        var all = new Task[workers.Count];
        for (int i = 0; i < workers.Count; i++)
        {
            all[i] = workers[i].Completion;
        }

        try
        {
            await Task.WhenAll(all).WaitAsync(_drainTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            int late = 0;
            foreach (var worker in workers)
            {
                if (!worker.Completion.IsCompleted)
                {
                    worker.Abandon();
                    late++;
                }
            }

            _log.DrainTimedOut(_status.Name, late, _drainTimeout);
        }
    }
}
