using System.Globalization;

namespace Messaging.Perf;

/// <summary>The ratio lines' common tail: what was compared, so a ratio is never quoted without its scenario.</summary>
internal static class RatioLine
{
    /// <summary>
    /// <c>payload=… api=ours/theirs codec=…</c> and the reminder that allocation figures count managed memory only.
    /// </summary>
    public static string Scenario(string payloadMode, string api, string codec) => string.Create(CultureInfo.InvariantCulture,
        $"payload={payloadMode} api={api} codec={codec.Replace(' ', '-')} (alloc counts managed memory only: librdkafka's native allocations are invisible)");

    /// <summary>ours/theirs, or 0 when theirs is 0 (nothing to compare with).</summary>
    public static double Ratio(double ours, double theirs) => theirs == 0 ? 0 : ours / theirs;
}
