namespace Messaging.Perf;

/// <summary>One subcommand of the perf CLI (<c>produce</c>, <c>consume</c>); found by <see cref="Program"/> at startup.</summary>
internal interface IPerfCommand
{
    /// <summary>The word that selects it: <c>dotnet run -c Release --project perf/Messaging.Perf -- NAME [options]</c>.</summary>
    string Name { get; }

    /// <summary>One paragraph of usage: the options and their defaults.</summary>
    string Usage { get; }

    /// <summary>Runs it; returns the process exit code.</summary>
    Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken);
}
