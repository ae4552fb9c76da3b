using System.Globalization;

namespace Messaging.Perf;

/// <summary>One client's produce round, or the medians of its rounds.</summary>
/// <param name="PoolFill">Of the allocated bytes, those our producer's batch buffer pool allocated: it fills up to buffer.memory once (or trades small free buffers for a larger one) and then reuses.</param>
/// <param name="Latency">Ack latency (latency mode), else null.</param>
internal sealed record ProduceResult(long Messages, int RecordBytes, double WallMs, double MessagesPerSecond, double CpuMicrosPerMessage, double AllocatedPerMessage,
    double PoolFillPerMessage, int Gen0, int Gen1, int Gen2, LatencySummary? Latency)
{
    public static ProduceResult From(long messages, int recordBytes, Measurement m, TimeSpan brokerCpu, long poolFill, LatencySummary? latency) => new(
        messages, recordBytes, m.Wall.TotalMilliseconds, messages / m.Wall.TotalSeconds, (m.Cpu - brokerCpu).TotalMicroseconds / messages,
        (double)m.AllocatedBytes / messages, (double)poolFill / messages, m.Gen0, m.Gen1, m.Gen2, latency);

    public double MegabytesPerSecond => MessagesPerSecond * RecordBytes / (1024 * 1024);

    /// <summary>Each metric's median over the rounds (the mean of the middle two for an even count).</summary>
    public static ProduceResult Median(IReadOnlyList<ProduceResult> runs) => new(
        runs[0].Messages, runs[0].RecordBytes, Medians.Of(runs, r => r.WallMs), Medians.Of(runs, r => r.MessagesPerSecond), Medians.Of(runs, r => r.CpuMicrosPerMessage),
        Medians.Of(runs, r => r.AllocatedPerMessage), Medians.Of(runs, r => r.PoolFillPerMessage), (int)Medians.Of(runs, r => r.Gen0), (int)Medians.Of(runs, r => r.Gen1), (int)Medians.Of(runs, r => r.Gen2),
        runs[0].Latency is null ? null : LatencySummary.Median(Latencies(runs)));

    private static List<LatencySummary> Latencies(IReadOnlyList<ProduceResult> runs)
    {
        var latencies = new List<LatencySummary>(runs.Count);
        foreach (var run in runs)
        {
            latencies.Add(run.Latency!);
        }

        return latencies;
    }

    /// <summary>The round's figures on one line (without the latencies).</summary>
    public string Figures
    {
        get
        {
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{MessagesPerSecond,12:N0} msgs/s {MegabytesPerSecond,8:0.0} MB/s  cpu {CpuMicrosPerMessage,6:0.000} µs/msg  alloc {AllocatedPerMessage,8:0.0} B/msg  wall {WallMs,7:0} ms  gc {Gen0}/{Gen1}/{Gen2}");
            if (PoolFillPerMessage > 0)
            {
                line += string.Create(CultureInfo.InvariantCulture, $"  (of the alloc, batch pool filling: {PoolFillPerMessage:0.0} B/msg)");
            }

            return line;
        }
    }

    public override string ToString() => Latency is null ? Figures : Figures + "\n      " + Latency;
}
