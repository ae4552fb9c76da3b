using System.Text;
using Messaging.Serialization;
using Messaging.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Messaging.Hosting.Tests.Consumers.HostedConsumerHost;

namespace Messaging.Hosting.Tests.Consumers;

/// <summary>The hosted consumer's flow control and its dead letters for records that cannot even be read.</summary>
public sealed class HostedConsumerFlowTests
{
    /// <summary>UTF-8 that refuses invalid bytes (the built-in one replaces them).</summary>
    private sealed class StrictUtf8 : IDeserializer<string>
    {
        private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        public string Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context) => isNull ? "" : Strict.GetString(data);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_record_that_cannot_be_deserialized_goes_to_the_dead_letter_topic_with_its_original_bytes_and_is_never_handled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster("payments", 1);
        cluster.CreateTopic("payments.dead-letters", 1);
        var log = new HandlingLog();
        var settings = Settings(cluster.BootstrapServers, "payments", NewGroup(),
            ("Orders:DeadLetterTopic", "payments.dead-letters"), ("Kafka:Producer:BootstrapServers", cluster.BootstrapServers));
        using var host = Build<RecordingHandler>(settings, log, b =>
        {
            b.Services.AddKafkaProducer(b.Configuration.GetSection("Kafka:Producer"));
            b.Services.AddSingleton<IDeserializer<string>>(new StrictUtf8());
        });
        await host.StartAsync(ct);

        byte[] unreadable = [0x61, 0xFF, 0xFE];
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await ProduceAsync(producer, "payments", 0, "k-a", "a", ct);
            await producer.ProduceAsync("payments", "k-bad"u8.ToArray(), unreadable, [new RecordHeader("trace", "xyz"u8.ToArray())], 0, cancellationToken: ct);
            await ProduceAsync(producer, "payments", 0, "k-b", "b", ct);
        }

        await Eventually.TrueAsync(() => log.Handled.Count(h => h.Value is "a" or "b") == 2, Deadline, "the records around the unreadable one handled", ct);
        Assert.Equal([0L, 2L], log.Started.Select(s => s.Offset).Order()); // the handler never saw offset 1

        var dead = await ReadFirstDeadLetterAsync(cluster.BootstrapServers, "payments.dead-letters", ct);
        Assert.Equal("k-bad", Encoding.UTF8.GetString(dead.Key!));
        Assert.Equal(unreadable, dead.Value); // the bytes as they were, not a decoded string
        var headers = dead.Headers.ToDictionary();
        Assert.Equal("xyz", headers["trace"]);
        Assert.Equal(typeof(DecoderFallbackException).FullName, headers[DeadLetterHeaders.ErrorType]);
        Assert.Equal("1", headers[DeadLetterHeaders.SourceOffset]);
        Assert.Equal("0", headers[DeadLetterHeaders.Attempts]); // the handler never ran
        await host.StopAsync(ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_partition_whose_records_wait_for_their_handler_is_paused_at_the_buffer_size_and_resumed_once_they_drain()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster("orders", 1);
        var log = new HandlingLog();
        var settings = Settings(cluster.BootstrapServers, "orders", NewGroup(), ("Orders:PartitionBufferSize", "4"));
        using var host = Build<GatedHandler>(settings, log);
        await host.StartAsync(ct);
        var consumer = host.Services.GetRequiredKeyedService<KafkaConsumer>("Messaging.Hosting.ConsumerHandler:" + typeof(GatedHandler).FullName);

        await ProduceEveryPartitionAsync(cluster.BootstrapServers, "orders", 1, 40, ct);
        await Eventually.TrueAsync(() => consumer.PausedPartitions.Contains(new TopicPartition("orders", 0)) && !log.Started.IsEmpty, Deadline,
            "the partition paused while its first handler is held", ct);
        Assert.Single(log.Started); // one record at a time per partition: the first holds the rest back
        Assert.Empty(log.Handled);

        log.Gate.SetResult();
        await Eventually.TrueAsync(() => log.Handled.Count == 40, Deadline, "all 40 records handled after the gate opened", ct);
        Assert.Empty(consumer.PausedPartitions);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), log.Handled.Select(h => h.Offset));
        await host.StopAsync(ct);
    }
}
