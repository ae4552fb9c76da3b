using System.Globalization;

namespace Messaging.Perf;

/// <summary>Latency percentiles of one round in milliseconds.</summary>
internal sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max)
{
    /// <summary>Each percentile's median over the rounds.</summary>
    public static LatencySummary Median(IReadOnlyList<LatencySummary> rounds) => new(
        (int)Medians.Of(rounds, r => r.Count), Medians.Of(rounds, r => r.P50), Medians.Of(rounds, r => r.P90), Medians.Of(rounds, r => r.P99), Medians.Of(rounds, r => r.Max));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"latency ms p50 {P50,7:0.000}  p90 {P90,7:0.000}  p99 {P99,7:0.000}  max {Max,8:0.000}  ({Count:N0} records)");
}
