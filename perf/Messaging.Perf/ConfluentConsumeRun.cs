using System.Globalization;

namespace Messaging.Perf;

// Confluent.Kafka is this file's peer client: its type names (ConsumeResult, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>
/// One run of Confluent.Kafka's consumer over a <c>consume</c> run's data: its typed <c>Consume</c> loop, timed and
/// checked as <see cref="MessagingConsumeRun"/> is (steady state from the first record; every record checked).
/// </summary>
internal static class ConfluentConsumeRun
{
    public static ConsumerConfig Config(string bootstrap, ConsumeSettings settings)
    {
        var c = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-confluent",
            GroupId = "perf-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = false,
            FetchWaitMaxMs = settings.FetchWaitMs,

            // Only what the loop reads: no topic name, timestamp or headers marshalled per record (headers when the
            // records have some, as ours hands them over).
            ConsumeResultFields = ResultFields(settings),
        };
        if (settings.Group)
        {
            // As our side of the run: the fresh group has committed nothing, so every partition starts at the earliest
            // offset; one assignor on both clients; the group timings spelled out (librdkafka's defaults, and ours).
            c.AutoOffsetReset = AutoOffsetReset.Earliest;
            c.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
            c.SessionTimeoutMs = 45_000;
            c.HeartbeatIntervalMs = 3_000;
        }

        if (settings.ConfluentProfile == "tuned")
        {
            // librdkafka stops fetching for fetch.queue.backoff.ms (1 s) whenever its local queue holds
            // queued.min.messages (100,000): lift both, and fetch bigger chunks per partition.
            c.QueuedMinMessages = 10_000_000;
            c.FetchQueueBackoffMs = 0;
            c.MaxPartitionFetchBytes = Math.Max(4 * 1024 * 1024, settings.Payloads.RecordBytes + (64 * 1024));
        }

        settings.Security?.Apply(c);
        return c;
    }

    private static string ResultFields(ConsumeSettings settings) => settings.Payloads.HeaderCount > 0 ? "headers" : "none";

    public static string Describe(ConsumeSettings settings)
    {
        var c = Config("-", settings);
        var read = settings.Group
            ? string.Create(CultureInfo.InvariantCulture, $"Subscribe (one member; a fresh group id per run, partition.assignment.strategy={c.PartitionAssignmentStrategy.ToString()!.ToLowerInvariant()}, auto.offset.reset=earliest, enable.auto.commit=false, session.timeout.ms={c.SessionTimeoutMs}, heartbeat.interval.ms={c.HeartbeatIntervalMs})")
            : "Assign (every partition from offset 0)";
        return string.Create(CultureInfo.InvariantCulture,
            $"Confluent.Kafka {typeof(IConsumer<,>).Assembly.GetName().Version?.ToString(3)} ({settings.ConfluentProfile}) {read}, typed Consume(1 s) loop, IConsumer<Ignore, byte[]> (value copied into a new byte[] per record); fetch.wait.max.ms={c.FetchWaitMaxMs}, " +
            $"queued.min.messages={c.QueuedMinMessages?.ToString(CultureInfo.InvariantCulture) ?? "100000 (default)"}, fetch.queue.backoff.ms={c.FetchQueueBackoffMs?.ToString(CultureInfo.InvariantCulture) ?? "1000 (default)"}, " +
            $"max.partition.fetch.bytes={c.MaxPartitionFetchBytes?.ToString(CultureInfo.InvariantCulture) ?? "1048576 (default)"}, fetch.max.bytes=52428800 (default), queued.max.messages.kbytes=65536 (default), check.crcs=false (default), dotnet.consumer.consume.result.fields={ResultFields(settings)}");
    }

    public static ConsumeResult Run(string bootstrap, string topic, ConsumeSettings settings, CancellationToken cancellationToken)
    {
        var checker = new RecordChecker(settings);
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < settings.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, new Offset(0)));
        }

        using var consumer = new ConsumerBuilder<Ignore, byte[]>(Config(bootstrap, settings)).Build();
        var clock = new SteadyStateClock();
        if (settings.Group)
        {
            consumer.Subscribe(topic);
        }
        else
        {
            consumer.Assign(assignment);
        }

        long count = 0;
        long bytes = 0;
        for (var pass = 1; pass <= settings.Passes; pass++)
        {
            if (pass > 1)
            {
                foreach (var entry in assignment)
                {
                    consumer.Seek(entry);
                }
            }

            checker.StartPass();
            long end = settings.Messages * (long)pass;
            while (count < end)
            {
                var result = consumer.Consume(1000);
                if (result is null)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    continue;
                }

                checker.Check(result.Partition.Value, result.Offset.Value, result.Message.Value);
                bytes += result.Message.Value.Length;
                clock.StartOnFirst(++count, bytes);
            }

            checker.EndPass();
        }

        var measured = clock.Stop(count, bytes);
        consumer.Close();
        checker.ThrowIfFailed("confluent");
        return measured;
    }
}
