using System.Reflection;
using Messaging.Producer;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A sender that a metadata update created just before the producer closed may be started only after closing disposed
/// it (the update starts it outside the routing lock): it must not run then.
/// </summary>
public sealed class SenderStartAfterStopTests
{
    [Fact]
    public async Task A_sender_started_after_it_was_disposed_runs_no_loop()
    {
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = "localhost:9092" });
        var sender = (BrokerSender)typeof(ProducerCore).GetMethod("CreateSender", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(producer.Core, [1])!;

        await sender.DisposeAsync();
        sender.Start();

        // Before the fix its send loop ran on a disposed sender and faulted, and nothing ever observed it.
        await (Task)typeof(BrokerSender).GetField("_sendLoop", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(sender)!;
        await (Task)typeof(BrokerSender).GetField("_responseLoop", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(sender)!;
    }
}
