using System.Collections.Concurrent;

namespace Messaging.Hosting.Tests.Consumers;

/// <summary>
/// What a test's handlers did, shared by every handler instance of a host (a singleton): each record handled (in the
/// order per partition), how many ran at once overall and whether two ever ran at once on one partition, and the
/// records whose handler started, finished or was cancelled.
/// </summary>
public sealed class HandlingLog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, List<long>> _byPartition = [];
    private readonly ConcurrentDictionary<int, int> _runningPerPartition = new();
    private int _running;
    private int _maxRunning;
    private int _overlaps;

    public ConcurrentQueue<(int Partition, long Offset, string? Value)> Handled { get; } = new();

    public ConcurrentQueue<(int Partition, long Offset)> Started { get; } = new();

    public ConcurrentQueue<(int Partition, long Offset)> Cancelled { get; } = new();

    public ConcurrentDictionary<string, int> AttemptsByValue { get; } = new(StringComparer.Ordinal);

    /// <summary>Released by the test; gated handlers wait for it.</summary>
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int MaxRunning => Volatile.Read(ref _maxRunning);

    /// <summary>How often a handler started while another one of the same partition was still running.</summary>
    public int Overlaps => Volatile.Read(ref _overlaps);

    public void Enter(ConsumeResult<string, string> record)
    {
        Started.Enqueue((record.Partition, record.Offset));
        AttemptsByValue.AddOrUpdate(record.Value ?? "", 1, static (_, n) => n + 1);
        var running = Interlocked.Increment(ref _running);
        int max;
        while (running > (max = Volatile.Read(ref _maxRunning)) && Interlocked.CompareExchange(ref _maxRunning, running, max) != max)
        {
        }

        if (_runningPerPartition.AddOrUpdate(record.Partition, 1, static (_, n) => n + 1) > 1)
        {
            Interlocked.Increment(ref _overlaps);
        }
    }

    public void Exit(ConsumeResult<string, string> record, bool handled)
    {
        _runningPerPartition.AddOrUpdate(record.Partition, 0, static (_, n) => n - 1);
        Interlocked.Decrement(ref _running);
        if (!handled)
        {
            return;
        }

        lock (_lock)
        {
            if (!_byPartition.TryGetValue(record.Partition, out var offsets))
            {
                _byPartition[record.Partition] = offsets = [];
            }

            offsets.Add(record.Offset);
        }

        Handled.Enqueue((record.Partition, record.Offset, record.Value));
    }

    /// <summary>The offsets handled on <paramref name="partition"/>, in the order their handlers finished.</summary>
    public IReadOnlyList<long> OffsetsOf(int partition)
    {
        lock (_lock)
        {
            return _byPartition.TryGetValue(partition, out var offsets) ? [.. offsets] : [];
        }
    }
}
