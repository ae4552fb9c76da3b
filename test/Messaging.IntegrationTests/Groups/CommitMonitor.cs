using System.Diagnostics;
using Messaging.IntegrationTests.Consumer;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Watches a group's committed offsets while a test runs: a consumer of the same group that never subscribes asks
/// for the committed offsets of every partition over and over, one request at a time, and keeps what it saw with
/// when the answer came (Stopwatch ticks). Answers come in real-time order, so a value lower than an earlier one for
/// the same partition means the committed offset moved backwards.
/// </summary>
internal sealed class CommitMonitor : IAsyncDisposable
{
    private readonly KafkaConsumer<byte[]?, byte[]?> _consumer;
    private readonly TopicPartition[] _partitions;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<(long At, long[] Offsets)> _seen = [];
    private readonly List<string> _backwards = [];
    private readonly Task _loop;

    public CommitMonitor(string bootstrap, string group, string topic, int partitions)
    {
        _consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(bootstrap, o =>
        {
            o.GroupId = group;
            o.EnableAutoCommit = false;
        }));
        _partitions = [.. Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p))];
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Each time a partition's committed offset was seen lower than before: "partition: before -> after".</summary>
    public IReadOnlyList<string> Backwards
    {
        get
        {
            lock (_lock)
            {
                return [.. _backwards];
            }
        }
    }

    /// <summary>How many answers came so far.</summary>
    public int Observations
    {
        get
        {
            lock (_lock)
            {
                return _seen.Count;
            }
        }
    }

    /// <summary>The latest committed offsets seen (-1 where none), by partition number.</summary>
    public long[] Latest
    {
        get
        {
            lock (_lock)
            {
                return _seen.Count == 0 ? [.. _partitions.Select(_ => -1L)] : [.. _seen[^1].Offsets];
            }
        }
    }

    /// <summary>The sum of the latest committed offsets (partitions without one count 0).</summary>
    public long LatestSum => Latest.Sum(o => Math.Max(o, 0));

    /// <summary>The committed offset of <paramref name="partition"/> in the last answer that came before <paramref name="at"/> (Stopwatch ticks), or -1.</summary>
    public long CommittedBefore(int partition, long at)
    {
        lock (_lock)
        {
            int lo = 0, hi = _seen.Count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                if (_seen[mid].At < at)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return found < 0 ? -1 : _seen[found].Offsets[partition];
        }
    }

    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _loop;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _consumer.DisposeAsync();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            IReadOnlyList<TopicPartitionCommit> committed;
            try
            {
                committed = await _consumer.CommittedAsync(_partitions, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (KafkaException)
            {
                await PaceAsync(token); // a coordinator move or a broker down: ask again
                continue;
            }

            var at = Stopwatch.GetTimestamp();
            var offsets = new long[_partitions.Length];
            foreach (var c in committed)
            {
                offsets[c.TopicPartition.Partition] = c.Offset;
            }

            lock (_lock)
            {
                if (_seen.Count > 0)
                {
                    var last = _seen[^1].Offsets;
                    for (var p = 0; p < offsets.Length; p++)
                    {
                        if (offsets[p] < last[p])
                        {
                            _backwards.Add(_partitions[p] + ": " + last[p] + " -> " + offsets[p]);
                        }
                    }
                }

                _seen.Add((at, offsets));
            }

            await PaceAsync(token);
        }
    }

    /// <summary>About 50 answers a second: often enough to see every commit step, without flooding the coordinator.</summary>
    private static async Task PaceAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(20, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }
}
