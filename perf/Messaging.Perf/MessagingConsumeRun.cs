using System.Globalization;
using Deserializers = Messaging.Deserializers;
using Ignore = Messaging.Ignore;
using ConsumerPools = Messaging.Pools.ConsumerPools;

namespace Messaging.Perf;

/// <summary>One run of our consumer over a <c>consume</c> run's data, on the path the run names.</summary>
/// <remarks>Steady state: the clock starts when the first record (or batch) arrives — after connecting, metadata
/// and the first fetch (and, through a subscription, joining the group and fetching its committed offsets), which
/// are reported as the start-up time — and the records that arrived with it are not counted. Every record goes
/// through <see cref="RecordChecker"/>.</remarks>
internal static class MessagingConsumeRun
{
    public static KafkaConsumerOptions Options(string bootstrap, ConsumeSettings settings, bool pools, bool subscribe = false)
    {
        var options = new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "perf-messaging",
            FetchMaxWait = TimeSpan.FromMilliseconds(settings.FetchWaitMs),
            MaxPartitionFetchBytes = Math.Max(4 * 1024 * 1024, settings.Payloads.RecordBytes + (64 * 1024)),
            MaxPollRecords = settings.MaxPollRecords,
            Pools = pools ? ConsumerPools.Shared : ConsumerPools.None,
        };
        if (subscribe)
        {
            // As Confluent's side of the run: a fresh group that has committed nothing, so every partition starts at
            // the earliest offset; no commits (they are not part of reading); one assignor on both clients.
            options.GroupId = "perf-" + Guid.NewGuid().ToString("N");
            options.AutoOffsetReset = AutoOffsetReset.Earliest;
            options.EnableAutoCommit = false;
            options.PartitionAssignmentStrategy = ConsumeSettings.GroupAssignor;
        }

        settings.Security?.Apply(options);
        return options;
    }

    public static string Describe(ConsumeSettings settings, bool pools)
    {
        var o = Options("-", settings, pools, settings.Group);
        var path = settings.Path switch
        {
            "batch" => "ConsumeBatchAsync: our zero-copy path (raw records over pooled buffers, one batch per partition fetch) — not like for like with Confluent's per-record Consume",
            "raw" => "ConsumeRawAsync + Recycle per record (pooled records, values not copied) — not like for like with Confluent's typed Consume",
            _ => "ConsumeAsync<Ignore, byte[]> (typed: the value copied into a new byte[] per record) — like for like with Confluent's typed Consume",
        };
        var read = settings.Group
            ? string.Create(CultureInfo.InvariantCulture, $"Subscribe (one member; a fresh group id per run, assignor {o.PartitionAssignmentStrategy}, auto.offset.reset=earliest, auto-commit off, session.timeout={o.SessionTimeout.TotalMilliseconds} ms, heartbeat={o.HeartbeatInterval.TotalMilliseconds} ms)")
            : "Assign (every partition from offset 0)";
        return string.Create(CultureInfo.InvariantCulture,
            $"Messaging {read}, {path}; fetch.max.wait={o.FetchMaxWait.TotalMilliseconds} ms, fetch.min.bytes={o.FetchMinBytes}, fetch.max.bytes={o.FetchMaxBytes}, max.partition.fetch.bytes={o.MaxPartitionFetchBytes}, " +
            $"max buffered={o.MaxBufferedBytes / 1048576} MiB, max.poll.records={o.MaxPollRecords}, check.crcs={o.CheckCrcs.ToString().ToLowerInvariant()}, fetch sessions={o.FetchSessions.ToString().ToLowerInvariant()}, pools={(pools ? "on (shared defaults)" : "off")}");
    }

    /// <summary>Reads the data (every pass) and returns the steady-state figures.</summary>
    /// <param name="subscribe">Through a group subscription (one member) instead of <c>Assign</c>.</param>
    public static async Task<ConsumeResult> RunAsync(string bootstrap, string topic, ConsumeSettings settings, bool pools, bool subscribe, CancellationToken cancellationToken)
    {
        var checker = new RecordChecker(settings);
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < settings.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, OffsetSpec.At(0)));
        }

        await using var consumer = new KafkaConsumer<Ignore, byte[]?>(Options(bootstrap, settings, pools, subscribe), Deserializers.Ignore, Deserializers.ByteArray);
        var clock = new SteadyStateClock();
        if (subscribe)
        {
            consumer.Subscribe([topic]);
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
                    consumer.Seek(entry.TopicPartition, OffsetSpec.At(0));
                }
            }

            checker.StartPass();
            long end = settings.Messages * (long)pass;
            switch (settings.Path)
            {
                case "batch":
                    while (count < end)
                    {
                        using var batch = await consumer.ConsumeBatchAsync(cancellationToken).ConfigureAwait(false);
                        var partition = batch.TopicPartition.Partition;
                        foreach (ref readonly var record in batch.Records)
                        {
                            checker.Check(partition, record.Offset, record.Value.Span);
                            bytes += record.Value.Length;
                        }

                        count += batch.Count;
                        clock.StartOnFirst(count, bytes);
                    }

                    break;
                case "raw":
                    await foreach (var record in consumer.ConsumeRawAsync(cancellationToken).ConfigureAwait(false))
                    {
                        checker.Check(record.Partition, record.Offset, record.Value.Span);
                        bytes += record.Value.Length;
                        record.Recycle();
                        clock.StartOnFirst(++count, bytes);
                        if (count == end)
                        {
                            break;
                        }
                    }

                    break;
                default:
                    await foreach (var result in consumer.ConsumeAsync(cancellationToken).ConfigureAwait(false))
                    {
                        checker.Check(result.Partition, result.Offset, result.Value);
                        bytes += result.Value?.Length ?? 0;
                        clock.StartOnFirst(++count, bytes);
                        if (count == end)
                        {
                            break;
                        }
                    }

                    break;
            }

            checker.EndPass();
        }

        var measured = clock.Stop(count, bytes);
        checker.ThrowIfFailed("messaging");
        return measured;
    }
}
