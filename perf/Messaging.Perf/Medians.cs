namespace Messaging.Perf;

/// <summary>Medians over a run's rounds: the middle value of an odd count, the mean of the middle two of an even count.</summary>
internal static class Medians
{
    public static double Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("No rounds to take a median of.", nameof(values));
        }

        var sorted = new double[values.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i] = values[i];
        }

        Array.Sort(sorted);
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public static double Of<T>(IReadOnlyList<T> runs, Func<T, double> metric)
    {
        var values = new double[runs.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = metric(runs[i]);
        }

        return Of(values);
    }
}
