using System.Text;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// <c>ProduceAsync</c> copies the caller's bytes before it returns, also for a record that must wait: a caller whose
/// wait is cancelled gets its task completed while the record may still be on its way into a batch, and reuses its
/// buffer then.
/// </summary>
public sealed class ProduceCopyTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_record_waiting_for_its_topics_metadata_is_sent_with_the_bytes_it_was_produced_with()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Linger = TimeSpan.Zero });
        var key = "key-1"u8.ToArray();
        var value = "before"u8.ToArray();

        // The topic is not in the metadata yet: the record waits in the producer's lane.
        var delivered = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, (ReadOnlyMemory<byte>)key, (ReadOnlyMemory<byte>)value, cancellationToken: ct).AsTask();
        Assert.False(delivered.IsCompleted);

        // The caller reuses its buffers (as one whose wait was cancelled would), then the topic appears.
        "other"u8.CopyTo(key);
        "after!"u8.CopyTo(value);
        broker.LateTopicListed = true;
        await delivered;

        Assert.Equal("before", Encoding.UTF8.GetString(Assert.Single(broker.Values)));
    }
}
