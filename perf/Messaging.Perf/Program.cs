using System.Reflection;

namespace Messaging.Perf;

/// <summary>
/// The perf CLI: <c>dotnet run -c Release --project perf/Messaging.Perf -- &lt;command&gt; [options]</c>. Commands are the
/// <see cref="IPerfCommand"/> types in this assembly (<c>produce</c>, <c>consume</c>, <c>e2e</c>, <c>rebalance</c>); each runs on the
/// embedded broker unless given <c>--bootstrap host:port</c>, and compares our client with Confluent.Kafka like for
/// like (the same records, settings and calling pattern), printing a ratio line that names the scenario.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var commands = new SortedDictionary<string, IPerfCommand>(StringComparer.Ordinal);
        foreach (var type in typeof(Program).Assembly.GetTypes())
        {
            if (typeof(IPerfCommand).IsAssignableFrom(type) && type is { IsAbstract: false, IsInterface: false })
            {
                var command = (IPerfCommand)Activator.CreateInstance(type, nonPublic: true)!;
                commands[command.Name] = command;
            }
        }

        if (args.Length == 0 || !commands.TryGetValue(args[0], out var selected))
        {
            await Console.Error.WriteLineAsync("usage: Messaging.Perf <command> [options]\n").ConfigureAwait(false);
            foreach (var command in commands.Values)
            {
                await Console.Error.WriteLineAsync(command.Name + ": " + command.Usage + "\n").ConfigureAwait(false);
            }

            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            var options = new CommandLine(args[1..]);
            return await selected.RunAsync(options, cancel.Token).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message + "\n\n" + selected.Name + ": " + selected.Usage).ConfigureAwait(false);
            return 2;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // A failed check (a record lost, altered or unacknowledged) or a stall: the run's figures mean nothing.
            await Console.Error.WriteLineAsync("FAILED: " + ex.Message).ConfigureAwait(false);
            return 1;
        }
    }
}
