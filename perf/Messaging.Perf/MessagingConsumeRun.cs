using System.Globalization;
using Deserializers = Messaging.Deserializers;
using Ignore = Messaging.Ignore;
using ConsumerPools = Messaging.Pools.ConsumerPools;

namespace Messaging.Perf;

/// <summary>One run of our consumer over a <c>consume</c> run's data, on the path the run names.</summary>
/// <remarks>Steady state: the clock starts when the first record (or batch) arrives — after connecting, metadata
/// and the first fetch, which are reported as the start-up time — and the records that arrived with it are not
/// counted. Every record goes through <see cref="RecordChecker"/>.</remarks>
internal static class MessagingConsumeRun
{
    public static KafkaConsumerOptions Options(string bootstrap, ConsumeSettings settings, bool pools)
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
        settings.Security?.Apply(options);
        return options;
    }

    public static string Describe(ConsumeSettings settings, bool pools)
    {
        var o = Options("-", settings, pools);
        var path = settings.Path switch
        {
            "batch" => "ConsumeBatchAsync: our zero-copy path (raw records over pooled buffers, one batch per partition fetch) — not like for like with Confluent's per-record Consume",
            "raw" => "ConsumeRawAsync + Recycle per record (pooled records, values not copied) — not like for like with Confluent's typed Consume",
            _ => "ConsumeAsync<Ignore, byte[]> (typed: the value copied into a new byte[] per record) — like for like with Confluent's typed Consume",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"Messaging {path}; fetch.max.wait={o.FetchMaxWait.TotalMilliseconds} ms, fetch.min.bytes={o.FetchMinBytes}, fetch.max.bytes={o.FetchMaxBytes}, max.partition.fetch.bytes={o.MaxPartitionFetchBytes}, " +
            $"max buffered={o.MaxBufferedBytes / 1048576} MiB, max.poll.records={o.MaxPollRecords}, check.crcs={o.CheckCrcs.ToString().ToLowerInvariant()}, fetch sessions={o.FetchSessions.ToString().ToLowerInvariant()}, pools={(pools ? "on (shared defaults)" : "off")}");
    }

    public static async Task<ConsumeResult> RunAsync(string bootstrap, string topic, ConsumeSettings settings, bool pools, CancellationToken cancellationToken)
    {
        var checker = new RecordChecker(settings);
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < settings.Partitions; p++)
        {
            assignment.Add(new TopicPartitionOffset(topic, p, OffsetSpec.At(0)));
        }

        await using var consumer = new KafkaConsumer<Ignore, byte[]?>(Options(bootstrap, settings, pools), Deserializers.Ignore, Deserializers.ByteArray);
        var clock = new SteadyStateClock();
        consumer.Assign(assignment);
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
