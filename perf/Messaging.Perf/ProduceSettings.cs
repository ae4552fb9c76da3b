using System.Globalization;
using CompressionType = Messaging.CompressionType;

namespace Messaging.Perf;

/// <summary>What a <c>produce</c> run sends and how: the same for both clients.</summary>
/// <param name="Mode">callback, fire, tasks or latency (or e2e, for the <c>e2e</c> command's producers).</param>
/// <param name="Threads">Producing threads (callback and fire).</param>
/// <param name="Tasks">Concurrent loops awaiting ProduceAsync (tasks).</param>
/// <param name="Rate">Records per second the latency mode paces to.</param>
/// <param name="Security">TLS/SASL through the test proxy (<c>--security</c>), or null for plaintext.</param>
internal sealed record ProduceSettings(int Messages, Payloads Payloads, int Partitions, string Acks, CompressionType Compression, int? CompressionLevel,
    int LingerMs, int BatchSize, bool Idempotence, string Mode, int Threads, int Tasks, int Rate, PerfSecurity? Security = null)
{
    /// <summary>Large enough for the batch size and for one record of the run (values up to 16 MiB).</summary>
    public int MaxRequestSize => Math.Max(1024 * 1024, Math.Max(BatchSize, Payloads.RecordBytes) + (64 * 1024));

    public string Codec => Compression.ToString().ToLowerInvariant() + (CompressionLevel is { } l ? " level " + l.ToString(CultureInfo.InvariantCulture) : "");

    /// <summary>The mode as the ratio line names it: <c>mode=tasks tasks=100</c>, <c>mode=latency rate=10000</c>, <c>mode=fire threads=2</c>.</summary>
    public string ModeLabel => Mode switch
    {
        "tasks" => "mode=tasks tasks=" + Tasks.ToString(CultureInfo.InvariantCulture),
        "latency" or "e2e" => "mode=" + Mode + " rate=" + Rate.ToString(CultureInfo.InvariantCulture),
        _ => "mode=" + Mode + (Threads > 1 ? " threads=" + Threads.ToString(CultureInfo.InvariantCulture) : ""),
    };

    /// <summary>Both clients' API for the mode, as the ratio line names it.</summary>
    public string ApiLabel => Mode switch
    {
        "callback" => "Produce+handler/Produce+handler",
        "fire" => "Produce/Produce(delivery-reports-off)",
        _ => "ProduceAsync/ProduceAsync",
    };
}
