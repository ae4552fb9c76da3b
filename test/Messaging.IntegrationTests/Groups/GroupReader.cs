using System.Collections.Concurrent;
using Messaging.IntegrationTests.Consumer;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A subscribed consumer reading in the background for the group tests: records every (partition, offset) it is
/// handed, the partitions its listener was told about, and per-partition delivery times (for gap checks).
/// </summary>
internal sealed class GroupReader : IAsyncDisposable, IConsumerRebalanceListener
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private readonly HashSet<TopicPartition> _owned = [];
    private readonly Func<ConsumeResult<byte[]?, byte[]?>, ValueTask>? _process;

    public GroupReader(string name, KafkaConsumerOptions options, IEnumerable<string> topics, Func<ConsumeResult<byte[]?, byte[]?>, ValueTask>? process = null)
    {
        Name = name;
        _process = process;
        Consumer = ConsumerTestSupport.Bytes(options);
        Consumer.Subscribe(topics, this);
        _loop = Task.Run(ReadAsync);
    }

    public string Name { get; }

    public KafkaConsumer<byte[]?, byte[]?> Consumer { get; }

    /// <summary>Every record handed out, with the reader's name (duplicates kept).</summary>
    public ConcurrentQueue<(TopicPartition Partition, long Offset)> Seen { get; } = new();

    /// <summary>When each partition last delivered a record (Stopwatch ticks).</summary>
    public ConcurrentDictionary<TopicPartition, long> LastDelivery { get; } = new();

    public ConcurrentQueue<string> Events { get; } = new();

    public Exception? Failure { get; private set; }

    /// <summary>A record of a revoked or lost partition handed out after its callback ran.</summary>
    public int DeliveredAfterRevocation;

    public IReadOnlyCollection<TopicPartition> Owned
    {
        get
        {
            lock (_lock)
            {
                return [.. _owned];
            }
        }
    }

    public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _owned.UnionWith(partitions);
        }

        Events.Enqueue("assigned " + partitions.Count);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _owned.ExceptWith(partitions);
        }

        Events.Enqueue("revoked " + partitions.Count);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _owned.ExceptWith(partitions);
        }

        Events.Enqueue("lost " + partitions.Count);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        await Consumer.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>Stops reading without leaving the group (as a process that hangs would).</summary>
    public async Task StopReadingAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var record in Consumer.ConsumeAsync(_stop.Token))
            {
                bool owned;
                lock (_lock)
                {
                    owned = _owned.Contains(record.TopicPartition);
                }

                if (!owned)
                {
                    Interlocked.Increment(ref DeliveredAfterRevocation);
                }

                if (_process is not null)
                {
                    await _process(record);
                }

                Seen.Enqueue((record.TopicPartition, record.Offset));
                LastDelivery[record.TopicPartition] = System.Diagnostics.Stopwatch.GetTimestamp();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Failure = ex;
            throw;
        }
    }
}
