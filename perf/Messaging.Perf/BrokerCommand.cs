using System.Globalization;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.Perf;

/// <summary>
/// <c>broker</c>: the embedded broker on its own, in this process, until standard input closes (or Ctrl+C) — behind a
/// <see cref="KafkaProxy"/> that answers CreateTopics and DeleteTopics and, with <c>--fetches-on-arrival</c>, answers a
/// waiting Fetch when records arrive, as a Kafka broker does. Prints <c>bootstrap: HOST:PORT</c> once it listens. Runs
/// a benchmark's broker apart from the clients it measures (<c>rpc --fetches-on-arrival</c> starts one), so the
/// broker's and the proxy's CPU are not the clients'.
/// </summary>
internal sealed class BrokerCommand : IPerfCommand
{
    /// <summary>The line the command prints when clients can connect, followed by the bootstrap servers.</summary>
    public const string ReadyPrefix = "bootstrap: ";

    /// <summary>A line on standard input that asks for the requests the proxy passed to the broker so far, per API.</summary>
    public const string RequestsCommand = "requests";

    /// <summary>The answer's prefix, followed by <c>Api=count</c> pairs separated by <c>;</c> (APIs with none left out).</summary>
    public const string RequestsPrefix = "requests: ";

    public string Name => "broker";

    public string Usage => "--brokers N (1) --fetches-on-arrival (answer waiting Fetches when records arrive, as Kafka does)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var brokers = options.Int("brokers", 1);
        var onArrival = options.Flag("fetches-on-arrival");
        options.EnsureAllRead();
        if (brokers < 1)
        {
            throw new ArgumentException("--brokers is at least 1.");
        }

        await using var cluster = EmbeddedKafkaCluster.Start(brokers);
        await using var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerTopicAdministration = true, AnswerFetchesOnArrival = onArrival });
        Console.WriteLine(ReadyPrefix + proxy.BootstrapServers);

        // Runs until whoever started it closes our standard input (the parent ended, or is done) or Ctrl+C, answering
        // the request counts it asks for meanwhile.
        var input = Task.Run(() => ServeCommands(proxy), CancellationToken.None);
        await Task.WhenAny(input, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"broker: {proxy.Connections:N0} connections served"));
        return 0;
    }

    private static void ServeCommands(KafkaProxy proxy)
    {
        while (Console.In.ReadLine() is { } line)
        {
            if (line == RequestsCommand)
            {
                var counts = new List<string>();
                foreach (var api in Enum.GetValues<ApiKey>())
                {
                    long total = 0;
                    foreach (var listener in proxy.Brokers)
                    {
                        total += listener.Faults.Requests(api);
                    }

                    if (total > 0)
                    {
                        counts.Add(string.Create(CultureInfo.InvariantCulture, $"{api}={total}"));
                    }
                }

                Console.WriteLine(RequestsPrefix + string.Join(';', counts));
            }
        }
    }
}
