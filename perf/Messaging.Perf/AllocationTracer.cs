using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Messaging.Perf;

/// <summary>
/// Samples allocations in this process through the runtime's AllocationTick events (one per ~100 KB allocated),
/// grouped by type, to find what allocates on a path that should not (<c>produce --alloc-trace</c>,
/// <c>consume --alloc-profile</c>). Samples are taken only between <see cref="Enable"/> and <see cref="Disable"/>.
/// </summary>
internal sealed class AllocationTracer : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);

    private volatile bool _enabled;

    public void Enable() => _enabled = true;

    public void Disable() => _enabled = false;

    public IEnumerable<KeyValuePair<string, long>> Top(int count) => _bytesByType.OrderByDescending(p => p.Value).Take(count);

    public void Clear() => _bytesByType.Clear();

    /// <summary>Writes the <paramref name="count"/> types that allocated most since <see cref="Clear"/>.</summary>
    public void Print(TextWriter output, int count = 8)
    {
        foreach (var (type, bytes) in Top(count))
        {
            output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"      ~{bytes,12:N0} B  {type}"));
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_enabled || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var names = eventData.PayloadNames!;
        var type = names.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var amount = names.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }
}
