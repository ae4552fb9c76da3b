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

        // Runs until whoever started it closes our standard input (the parent ended, or is done) or Ctrl+C.
        var input = Task.Run(() => Console.In.ReadToEnd(), CancellationToken.None);
        await Task.WhenAny(input, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"broker: {proxy.Connections:N0} connections served"));
        return 0;
    }
}
