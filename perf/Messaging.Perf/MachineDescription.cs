namespace Messaging.Perf;

/// <summary>
/// The machine and runtime settings every header states: the core count, and the thread pool's spin limit when it is
/// not the runtime's default (it moves CPU per operation more than anything either client does on a small machine).
/// </summary>
internal static class MachineDescription
{
    private const string SpinLimitSetting = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";
    private const string SpinLimitVariable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>For example "2 cores" or "2 cores, thread-pool spin limit 0 (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit)".</summary>
    public static string Cores
    {
        get
        {
            var cores = Environment.ProcessorCount + " cores";
            if (Environment.GetEnvironmentVariable(SpinLimitVariable) is { Length: > 0 } fromEnvironment)
            {
                return cores + ", thread-pool spin limit " + fromEnvironment + " (" + SpinLimitVariable + ")";
            }

            return AppContext.GetData(SpinLimitSetting) is { } fromConfig
                ? cores + ", thread-pool spin limit " + fromConfig + " (" + SpinLimitSetting + ")"
                : cores;
        }
    }
}
