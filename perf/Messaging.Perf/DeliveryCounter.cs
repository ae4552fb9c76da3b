using System.Globalization;
using Confluent.Kafka;

namespace Messaging.Perf;

/// <summary>Counts deliveries and failures from any thread; its handlers are cached delegates, so counting allocates nothing.</summary>
internal sealed class DeliveryCounter
{
    /// <summary>Our producer's delivery handler; the state is the counter.</summary>
    public static readonly DeliveryHandler Handler = static (in Messaging.DeliveryResult _, ProduceException? error, object? state) =>
    {
        var counter = (DeliveryCounter)state!;
        if (error is null)
        {
            counter.OnDelivered();
        }
        else
        {
            counter.OnFailed(error.Message);
        }
    };

    private long _delivered;
    private long _failed;

    public DeliveryCounter() => ConfluentHandler = OnConfluentReport;

    /// <summary>Confluent's delivery handler, bound once.</summary>
    public Action<DeliveryReport<byte[]?, byte[]>> ConfluentHandler { get; }

    public long Delivered => Volatile.Read(ref _delivered);

    public long Failed => Volatile.Read(ref _failed);

    public string? LastError { get; private set; }

    public void Reset()
    {
        Volatile.Write(ref _delivered, 0);
        Volatile.Write(ref _failed, 0);
        LastError = null;
    }

    public void OnDelivered() => Interlocked.Increment(ref _delivered);

    public void OnFailed(string reason)
    {
        LastError = reason;
        Interlocked.Increment(ref _failed);
    }

    /// <summary>Adds failures counted elsewhere (a log, an error handler).</summary>
    public void AddFailed(long count, string? reason)
    {
        if (count > 0)
        {
            LastError = reason ?? LastError;
            Interlocked.Add(ref _failed, count);
        }
    }

    /// <summary>Throws when anything failed or, when deliveries are reported, when not every record was delivered.</summary>
    public void Check(string client, long expected, bool counted)
    {
        if (Failed > 0 || (counted && Delivered != expected))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{client}: {Delivered} delivered, {Failed} failed of {expected}: {LastError}"));
        }
    }

    private void OnConfluentReport(DeliveryReport<byte[]?, byte[]> report)
    {
        if (report.Error.IsError)
        {
            OnFailed(report.Error.Reason);
        }
        else
        {
            OnDelivered();
        }
    }
}
