using System.Buffers;
using System.Reflection;
using Messaging.Producer;
using Messaging.Protocol;

namespace Messaging.Core.Tests.Producer;

/// <summary>A batch whose compression fails is failed on its own; its broker's sender goes on sending.</summary>
public sealed class SenderSealFailureTests
{
    [Theory(Timeout = 15_000)] // before the fix the second record's delivery never completed, not even past its delivery timeout
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_whose_compression_throws_fails_typed_and_the_next_record_is_delivered(bool idempotent)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { EnforceSequences = true };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            CompressionType = CompressionType.Lz4,
            EnableIdempotence = idempotent,
            DeliveryTimeout = TimeSpan.FromSeconds(3),
            RequestTimeout = TimeSpan.FromSeconds(2),
            Linger = TimeSpan.Zero,
        });

        var first = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), new byte[1024], cancellationToken: ct);
        Assert.Equal(0, first.Offset);

        // The sender's compression scratch buffer cannot grow once (its pool is out of memory).
        var sender = Assert.Single(producer.Core.Senders.All);
        var scratchField = typeof(BrokerSender).GetField("_scratch", BindingFlags.NonPublic | BindingFlags.Instance)!;
        var old = (ContiguousBufferWriter)scratchField.GetValue(sender)!;
        scratchField.SetValue(sender, new ContiguousBufferWriter(256, new FailsOncePool()));
        old.Dispose();

        var error = await Assert.ThrowsAsync<ProduceException>(async () => await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), new byte[1024], cancellationToken: ct));
        Assert.IsType<OutOfMemoryException>(error.InnerException);

        var third = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), new byte[1024], cancellationToken: ct);
        Assert.Equal(1, third.Offset);
        Assert.Equal(0, producer.Core.Accumulator.IncompleteCount);
    }

    /// <summary>Hands out its first array, fails the second request, then allocates.</summary>
    private sealed class FailsOncePool : ArrayPool<byte>
    {
        private int _rents;

        public override byte[] Rent(int minimumLength) =>
            Interlocked.Increment(ref _rents) == 2 ? throw new OutOfMemoryException("simulated: no memory for the scratch buffer") : new byte[minimumLength];

        public override void Return(byte[] array, bool clearArray = false)
        {
        }
    }
}
