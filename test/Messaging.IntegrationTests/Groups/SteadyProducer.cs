using System.Diagnostics;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Produces one record to every partition of a topic on a fixed interval (Confluent.Kafka), until stopped: a steady
/// stream for tests that look at delivery gaps or need records arriving while the group changes.
/// </summary>
internal sealed class SteadyProducer : IAsyncDisposable
{
    private readonly Confluent.Kafka.IProducer<byte[], byte[]> _producer;
    private readonly CancellationTokenSource _stop = new();
    private readonly long[] _acknowledged;
    private readonly Task _loop;
    private int _failures;

    public SteadyProducer(string bootstrap, string topic, int partitions, TimeSpan interval)
    {
        Interval = interval;
        _acknowledged = new long[partitions];
        _producer = ConfluentClients.Producer(bootstrap, c => c.LingerMs = 0);
        _loop = Task.Run(() => RunAsync(topic, partitions, _stop.Token));
    }

    /// <summary>The time between two rounds (one record per partition each).</summary>
    public TimeSpan Interval { get; }

    /// <summary>Records the broker acknowledged.</summary>
    public long Produced
    {
        get
        {
            long sum = 0;
            for (var p = 0; p < _acknowledged.Length; p++)
            {
                sum += Interlocked.Read(ref _acknowledged[p]);
            }

            return sum;
        }
    }

    /// <summary>Stops producing and waits for every record in flight to be acknowledged.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _loop;
            _producer.Flush(TimeSpan.FromSeconds(30));
            Assert.Equal(0, Volatile.Read(ref _failures));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _producer.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(string topic, int partitions, CancellationToken token)
    {
        using var timer = new PeriodicTimer(Interval);
        long round = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                var value = System.Text.Encoding.UTF8.GetBytes("round-" + round++ + "-" + Stopwatch.GetTimestamp());
                for (var p = 0; p < partitions; p++)
                {
                    var partition = p;
                    _producer.Produce(new Confluent.Kafka.TopicPartition(topic, p), new Confluent.Kafka.Message<byte[], byte[]> { Key = "k"u8.ToArray(), Value = value }, report =>
                    {
                        if (report.Error.IsError)
                        {
                            Interlocked.Increment(ref _failures);
                        }
                        else
                        {
                            Interlocked.Increment(ref _acknowledged[partition]);
                        }
                    });
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }
}
