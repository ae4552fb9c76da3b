namespace Messaging.Hosting.Tests.Consumers;

/// <summary>Handles every record after a short piece of asynchronous work (so handlers of different partitions overlap).</summary>
public sealed class RecordingHandler(HandlingLog log) : IKafkaRecordHandler<string, string>
{
    public async ValueTask HandleAsync(ConsumeResult<string, string> record, CancellationToken cancellationToken)
    {
        log.Enter(record);
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(2), cancellationToken); // the work a real handler does
        }
        finally
        {
            log.Exit(record, handled: true);
        }
    }
}

/// <summary>Waits for the log's gate before finishing; records being cancelled instead.</summary>
public sealed class GatedHandler(HandlingLog log) : IKafkaRecordHandler<string, string>
{
    public async ValueTask HandleAsync(ConsumeResult<string, string> record, CancellationToken cancellationToken)
    {
        log.Enter(record);
        bool handled = false;
        try
        {
            await log.Gate.Task.WaitAsync(cancellationToken);
            handled = true;
        }
        catch (OperationCanceledException)
        {
            log.Cancelled.Enqueue((record.Partition, record.Offset));
            throw;
        }
        finally
        {
            log.Exit(record, handled);
        }
    }
}

/// <summary>Throws for every record whose value is "poison"; handles the others.</summary>
public sealed class PoisonHandler(HandlingLog log) : IKafkaRecordHandler<string, string>
{
    public ValueTask HandleAsync(ConsumeResult<string, string> record, CancellationToken cancellationToken)
    {
        log.Enter(record);
        bool poison = record.Value == "poison";
        log.Exit(record, handled: !poison);
        return poison ? throw new InvalidOperationException("cannot handle poison at " + record.Offset) : ValueTask.CompletedTask;
    }
}
