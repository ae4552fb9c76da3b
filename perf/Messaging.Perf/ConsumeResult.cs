using System.Globalization;

namespace Messaging.Perf;

/// <summary>One consumer run (steady state: from the first record on), or the medians of a client's runs.</summary>
/// <param name="Messages">Records read while the clock ran (the run's total minus those that arrived with the first).</param>
/// <param name="StartupMs">Assign → first record (connections, metadata, first fetch): reported, not in the throughput.</param>
internal sealed record ConsumeResult(long Messages, long Bytes, double WallMs, double ClientCpuMs, double BrokerCpuMs, double AllocatedPerMessage, int Gen0, int Gen1, int Gen2, double StartupMs)
{
    public static ConsumeResult From(long messages, long bytes, Measurement m, TimeSpan brokerCpu, double startupMs) => new(
        messages, bytes, m.Wall.TotalMilliseconds, (m.Cpu - brokerCpu).TotalMilliseconds, brokerCpu.TotalMilliseconds, (double)m.AllocatedBytes / Math.Max(1, messages), m.Gen0, m.Gen1, m.Gen2, startupMs);

    public double MessagesPerSecond => Messages / (WallMs / 1000);

    public double MegabytesPerSecond => Bytes / (WallMs / 1000) / (1024 * 1024);

    public double CpuMicrosPerMessage => ClientCpuMs * 1000 / Messages;

    public double BrokerCoreShare => BrokerCpuMs / WallMs;

    /// <summary>Each metric's median over the runs (the mean of the middle two for an even count), scaled to the first run's record count.</summary>
    public static ConsumeResult Median(IReadOnlyList<ConsumeResult> runs)
    {
        var messages = runs[0].Messages;
        var seconds = messages / Medians.Of(runs, r => r.MessagesPerSecond);
        return new ConsumeResult(messages, (long)(Medians.Of(runs, r => r.MegabytesPerSecond) * seconds * 1024 * 1024), seconds * 1000, Medians.Of(runs, r => r.CpuMicrosPerMessage) * messages / 1000,
            Medians.Of(runs, r => r.BrokerCoreShare) * seconds * 1000, Medians.Of(runs, r => r.AllocatedPerMessage), (int)Medians.Of(runs, r => r.Gen0), (int)Medians.Of(runs, r => r.Gen1), (int)Medians.Of(runs, r => r.Gen2),
            Medians.Of(runs, r => r.StartupMs));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{MessagesPerSecond,11:N0} msgs/s {MegabytesPerSecond,7:0.0} MB/s  cpu {CpuMicrosPerMessage,6:0.000} µs/msg  alloc {AllocatedPerMessage,8:0.00} B/msg  gc {Gen0}/{Gen1}/{Gen2}  broker cpu {BrokerCoreShare,4:P0} of a core  wall {WallMs,6:0} ms  start-up {StartupMs,5:0} ms");
}
