using BenchmarkDotNet.Running;

namespace Messaging.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project perf/Messaging.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
