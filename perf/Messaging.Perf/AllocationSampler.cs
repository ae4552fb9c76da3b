using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Messaging.Perf;

/// <summary>
/// Samples managed allocations by type through the runtime's <c>GCAllocationTick</c> events (one event per ~100 KB
/// allocated): <c>--alloc-profile</c> prints where the bytes of a run went.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

    public void Print(TextWriter output)
    {
        foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(15))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {bytes / 1024.0,10:N0} KiB sampled  {type}"));
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick at verbose
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var index = eventData.PayloadNames?.IndexOf("TypeName") ?? -1;
        var amountIndex = eventData.PayloadNames?.IndexOf("AllocationAmount64") ?? -1;
        var type = index >= 0 ? eventData.Payload[index] as string ?? "?" : "?";
        var amount = amountIndex >= 0 ? Convert.ToInt64(eventData.Payload[amountIndex], CultureInfo.InvariantCulture) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, total) => total + amount);
    }
}
