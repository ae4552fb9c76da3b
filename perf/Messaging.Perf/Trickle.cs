using System.Buffers.Binary;
using System.Diagnostics;

namespace Messaging.Perf;

// Confluent.Kafka is this file's producer: its type names win over ours here.
using Confluent.Kafka;

/// <summary>
/// A <c>rebalance</c> run's steady trickle: every interval one record to every partition of the topic, its value the
/// send time (a <see cref="Stopwatch"/> timestamp, as <see cref="E2eStamp"/> reads it), so a consumer can tell records
/// produced after an event from older ones. One producer (Confluent.Kafka, linger 0) feeds every client's group alike.
/// </summary>
internal sealed class Trickle : IDisposable
{
    private readonly IProducer<Null, byte[]> _producer;
    private readonly string _topic;
    private readonly int _partitions;
    private readonly int _intervalMs;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _failed;
    private string? _lastError;

    public Trickle(string bootstrap, string topic, int partitions, int intervalMs)
    {
        _topic = topic;
        _partitions = partitions;
        _intervalMs = intervalMs;
        _producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0, EnableIdempotence = true }).Build();
        _thread = new Thread(Run) { IsBackground = true, Name = "perf-trickle" };
        _thread.Start();
    }

    public long Sent { get; private set; }

    /// <summary>Throws if a record could not be delivered: the group would have nothing to show it consumes again.</summary>
    public void ThrowIfFailed()
    {
        if (Interlocked.Read(ref _failed) > 0)
        {
            throw new InvalidOperationException("The trickle producer failed to deliver " + Interlocked.Read(ref _failed) + " record(s): " + _lastError);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }

    private void Run()
    {
        var message = new Message<Null, byte[]> { Value = new byte[E2eStamp.Size] };
        var targets = new TopicPartition[_partitions];
        for (var p = 0; p < _partitions; p++)
        {
            targets[p] = new TopicPartition(_topic, p);
        }

        var ticksPerInterval = Stopwatch.Frequency * _intervalMs / 1000;
        var next = Stopwatch.GetTimestamp();
        while (!_stop)
        {
            // Confluent.Kafka copies the value on Produce, so one array serves every record.
            BinaryPrimitives.WriteInt64LittleEndian(message.Value, Stopwatch.GetTimestamp());
            foreach (var target in targets)
            {
                _producer.Produce(target, message, OnDelivered);
            }

            Sent += _partitions;
            next += ticksPerInterval;
            var wait = (next - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            Thread.Sleep((int)Math.Max(1, wait));
        }
    }

    private void OnDelivered(DeliveryReport<Null, byte[]> report)
    {
        if (report.Error.IsError)
        {
            _lastError = report.Error.Reason;
            Interlocked.Increment(ref _failed);
        }
    }
}
