using System.Diagnostics;
using System.Globalization;
using Messaging.Testing;

namespace Messaging.Perf;

/// <summary>
/// The broker a perf run talks to: an embedded cluster of <c>--brokers</c> brokers (the default), the real cluster
/// named by <c>--bootstrap</c>, or an embedded cluster in a process of its own behind a proxy that answers Fetches when
/// records arrive (<see cref="StartOnArrivalAsync"/>). Creates the run's topic either way; disposing stops an embedded cluster.
/// </summary>
internal sealed class PerfBroker : IAsyncDisposable
{
    private readonly EmbeddedKafkaCluster? _cluster;
    private readonly Process? _process;
    private Dictionary<string, long> _countedFrom = new(StringComparer.Ordinal);

    private PerfBroker(EmbeddedKafkaCluster? cluster, string bootstrapServers, int brokers, Process? process = null)
    {
        _cluster = cluster;
        _process = process;
        BootstrapServers = bootstrapServers;
        Brokers = brokers;
    }

    public string BootstrapServers { get; }

    public int Brokers { get; }

    /// <summary>True for the embedded cluster (whose group settings the run may set), false for a real one.</summary>
    public bool IsEmbedded => _cluster is not null;

    /// <summary>For the run's header: the address of a real cluster, or which embedded broker it is.</summary>
    public string Description => _process is not null
        ? "embedded (librdkafka " + EmbeddedKafkaCluster.LibrdkafkaVersion + " mock) in its own process, behind a KafkaProxy answering Fetches when records arrive"
        : _cluster is null
            ? BootstrapServers
            : "embedded (librdkafka " + EmbeddedKafkaCluster.LibrdkafkaVersion + " mock)";

    /// <summary>True when <see cref="Cpu"/> is part of this process's CPU (the embedded broker's thread), false for a broker process apart.</summary>
    public bool CpuInThisProcess => _process is null;

    /// <summary>
    /// The broker's CPU so far: the embedded broker's thread (<c>rdk:mock</c>) in this process, or the whole process of
    /// one started apart (broker and proxy); zero for a real cluster.
    /// </summary>
    public TimeSpan Cpu()
    {
        if (_process is null)
        {
            return _cluster is null ? TimeSpan.Zero : Measurement.ThreadCpu("rdk:mock");
        }

        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public static PerfBroker Start(string? bootstrap, int brokers)
    {
        if (bootstrap is not null)
        {
            return new PerfBroker(null, bootstrap, brokers);
        }

        var cluster = EmbeddedKafkaCluster.Start(brokers);
        return new PerfBroker(cluster, cluster.BootstrapServers, brokers);
    }

    /// <summary>
    /// Starts <paramref name="brokers"/> embedded brokers in a child process (this program's <c>broker</c> command) behind
    /// a proxy that answers a waiting Fetch when records arrive, as a Kafka broker does, and returns once it listens.
    /// </summary>
    public static async Task<PerfBroker> StartOnArrivalAsync(int brokers, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new InvalidOperationException("The perf tool's executable path is unknown."))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet")
        {
            start.ArgumentList.Add(typeof(PerfBroker).Assembly.Location); // run as "dotnet Messaging.Perf.dll"
        }

        foreach (var argument in new[] { "broker", "--brokers", brokers.ToString(CultureInfo.InvariantCulture), "--fetches-on-arrival" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The broker process did not start.");
        try
        {
            while (await process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith(BrokerCommand.ReadyPrefix, StringComparison.Ordinal))
                {
                    return new PerfBroker(null, line[BrokerCommand.ReadyPrefix.Length..], brokers, process);
                }
            }

            throw new InvalidOperationException("The broker process ended before it listened (exit code " + (process.HasExited ? process.ExitCode.ToString(CultureInfo.InvariantCulture) : "none") + ").");
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts counting the requests the broker receives: the embedded broker's own count, or the proxy's in front of
    /// a broker process apart (nothing on a real cluster).
    /// </summary>
    public async Task StartCountingRequestsAsync(CancellationToken cancellationToken)
    {
        if (_process is not null)
        {
            _countedFrom = await ProcessRequestCountsAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        _cluster?.ClearTrackedRequests();
        _cluster?.StartRequestTracking();
    }

    /// <summary>
    /// Stops counting and describes what was received per API ("Fetch=1,924, Produce=626"), or null on a real
    /// cluster. Requests per call show how well each client batches: each one costs both the client and the broker.
    /// Behind the proxy each request a client sent counts once (a Fetch the proxy holds for records, asking the broker
    /// again as they arrive, too).
    /// </summary>
    public async Task<string?> StopCountingRequestsAsync(CancellationToken cancellationToken)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        if (_process is not null)
        {
            foreach (var (api, total) in await ProcessRequestCountsAsync(cancellationToken).ConfigureAwait(false))
            {
                var since = total - _countedFrom.GetValueOrDefault(api);
                if (since > 0)
                {
                    counts[api] = since;
                }
            }
        }
        else if (_cluster is not null)
        {
            _cluster.StopRequestTracking();
            foreach (var request in _cluster.GetTrackedRequests())
            {
                var api = request.ApiKey.ToString();
                counts[api] = counts.GetValueOrDefault(api) + 1;
            }

            _cluster.ClearTrackedRequests();
        }
        else
        {
            return null;
        }

        return string.Join(", ", counts.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key}={c.Value:N0}")));
    }

    /// <summary>Asks the broker process for its proxy's request counts so far, per API.</summary>
    private async Task<Dictionary<string, long>> ProcessRequestCountsAsync(CancellationToken cancellationToken)
    {
        await _process!.StandardInput.WriteLineAsync(BrokerCommand.RequestsCommand.AsMemory(), cancellationToken).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        while (await _process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (!line.StartsWith(BrokerCommand.RequestsPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var pair in line[BrokerCommand.RequestsPrefix.Length..].Split(';', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                counts[pair[..equals]] = long.Parse(pair.AsSpan(equals + 1), CultureInfo.InvariantCulture);
            }

            return counts;
        }

        throw new InvalidOperationException("The broker process ended before it answered the request counts.");
    }

    /// <summary>Creates a topic with a fresh name (<paramref name="prefix"/> plus a random suffix) and returns the name.</summary>
    public async Task<string> CreateTopicAsync(string prefix, int partitions, CancellationToken cancellationToken)
    {
        var topic = prefix + Guid.NewGuid().ToString("N")[..8];
        if (_cluster is not null)
        {
            _cluster.CreateTopic(topic, partitions, Math.Min(3, Brokers));
        }
        else
        {
            await using var admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = BootstrapServers });
            await admin.CreateTopicsAsync([new NewTopic(topic, partitions, 1)], cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return topic;
    }

    /// <summary>
    /// Sets how long the embedded broker lets a new group wait for more members before its first rebalance; a real
    /// cluster keeps its own <c>group.initial.rebalance.delay.ms</c> (the run's header says which applied).
    /// </summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay) => _cluster?.SetGroupInitialRebalanceDelay(delay);

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            // Closing its standard input ends the broker process; one that does not end in time is killed.
            _process.StandardInput.Close();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(patience.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}
