using System.Globalization;

namespace Messaging.Perf;

/// <summary>
/// <c>rpc</c>: request/reply calls, client and server in this process, ours (<c>RpcClient</c> → <c>RpcServer</c>)
/// against a hand-rolled Confluent.Kafka request/reply with the same headers, fetch wait and linger (default 5 ms, both
/// clients' default: librdkafka batches what arrives within it; ours sends at once when no request is in flight and
/// batches behind one that is): <c>--concurrency</c>
/// callers each making calls back to back; calls/s, latency percentiles, CPU and managed allocation per call (client
/// and server together), and with <c>--client both</c> the ratio messaging/confluent.
/// </summary>
/// <remarks>The embedded broker (librdkafka's mock) answers a fetch that found nothing new only when its wait ends, so
/// absolute latencies there depend on <c>--fetch-wait</c>; the ratios are the figure of merit.</remarks>
internal sealed class RpcCommand : IPerfCommand
{
    public string Name => "rpc";

    public string Usage =>
        "--client messaging|confluent|both (both) --concurrency N callers (16) --calls N measured (10000) --warmup N calls (calls/10, at least 300 per caller) --payload BYTES (100) " +
        "--fetch-wait MS (10, both sides) --linger MS (5, both sides: both clients' default) --linger-always (ours waits the whole linger as librdkafka does, not sending at once when idle) --timeout MS (30000) --partitions N request partitions (4) --bootstrap HOST:PORT (default: embedded broker) --fetches-on-arrival (the embedded broker in a process of its own, behind a proxy that answers waiting Fetches when records arrive, as Kafka does) --alloc-trace (sampled allocations by type)";

    public async Task<int> RunAsync(CommandLine options, CancellationToken cancellationToken)
    {
        var client = options.String("client", "both");
        var concurrency = options.Int("concurrency", 16);
        var calls = options.Int("calls", 10_000);
        var warmup = options.Int("warmup", Math.Max(calls / 10, 300 * concurrency)); // steady state: at 64 callers the JIT's tiering settles within ~20k calls here
        var settings = new RpcSettings(options.Int("payload", 100), options.Int("fetch-wait", 10), options.Int("linger", 5), TimeSpan.FromMilliseconds(options.Int("timeout", 30_000)), options.Flag("linger-always"));
        var partitions = options.Int("partitions", 4);
        var bootstrap = options.OptionalString("bootstrap");
        var onArrival = options.Flag("fetches-on-arrival");
        using var tracer = options.Flag("alloc-trace") ? new AllocationTracer() : null;
        options.EnsureAllRead();
        if (client is not ("messaging" or "confluent" or "both") || concurrency < 1 || calls < 1 || warmup < 0 || settings.Payload < 0 || partitions < 1)
        {
            throw new ArgumentException("--client is messaging|confluent|both; --concurrency, --calls, --partitions at least 1; --payload and --warmup at least 0.");
        }

        if (onArrival && bootstrap is not null)
        {
            throw new ArgumentException("--fetches-on-arrival starts an embedded broker: it does not go with --bootstrap.");
        }

        await using var broker = onArrival ? await PerfBroker.StartOnArrivalAsync(1, cancellationToken).ConfigureAwait(false) : PerfBroker.Start(bootstrap, 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rpc: {calls:N0} calls of {settings.Payload} B (echoed), {concurrency} concurrent callers, {partitions} request partition(s), broker {broker.Description}, {MachineDescription.Cores}"));
        var results = new Dictionary<string, RpcResult>(StringComparer.Ordinal);
        foreach (var name in client == "both" ? new[] { "confluent", "messaging" } : new[] { client })
        {
            var requests = await broker.CreateTopicAsync("perf-rpc-requests-", partitions, cancellationToken).ConfigureAwait(false);
            var replies = await broker.CreateTopicAsync("perf-rpc-replies-", 1, cancellationToken).ConfigureAwait(false);
            await using RpcSession session = name == "messaging" ? new MessagingRpcSession(broker.BootstrapServers, settings) : new ConfluentRpcSession(broker.BootstrapServers, settings);
            await session.StartAsync(requests, replies, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(name + ": " + session.Description);
            await RunCallsAsync(session, warmup, concurrency, settings.Payload, null, cancellationToken).ConfigureAwait(false);
            var latencies = new LatencyRecorder(calls);
            await broker.StartCountingRequestsAsync(cancellationToken).ConfigureAwait(false);
            var brokerCpu = broker.Cpu();
            tracer?.Clear();
            tracer?.Enable();
            var measurement = Measurement.Start();
            await RunCallsAsync(session, calls, concurrency, settings.Payload, latencies, cancellationToken).ConfigureAwait(false);
            measurement.Stop();
            tracer?.Disable();
            brokerCpu = broker.Cpu() - brokerCpu;
            if (await broker.StopCountingRequestsAsync(cancellationToken).ConfigureAwait(false) is { } requestCounts)
            {
                Console.WriteLine(name + ": broker requests during the measured calls: " + requestCounts);
            }

            var result = new RpcResult(calls, measurement, brokerCpu, broker.CpuInThisProcess, latencies.Summarise());
            results[name] = result;
            Console.WriteLine(name + ": " + result);
            if (tracer is not null)
            {
                Console.WriteLine(name + ": sampled allocations by type (client and server, the caller's echo check included)");
                tracer.Print(Console.Out, 12);
            }
        }

        if (results.TryGetValue("messaging", out var ours) && results.TryGetValue("confluent", out var theirs))
        {
            Console.WriteLine("alloc counts managed memory only: librdkafka's native allocations are invisible; CPU is client and server together (" +
                (broker.CpuInThisProcess ? "the process minus the embedded broker's thread" : "this process; the broker's is its own process's") + "; librdkafka's client threads included)");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rpc ratio messaging/confluent: throughput={RatioLine.Ratio(ours.CallsPerSecond, theirs.CallsPerSecond):0.00} p50={RatioLine.Ratio(ours.Latency.P50, theirs.Latency.P50):0.00} " +
                $"p99={RatioLine.Ratio(ours.Latency.P99, theirs.Latency.P99):0.00} cpu={RatioLine.Ratio(ours.CpuMicrosPerCall, theirs.CpuMicrosPerCall):0.00} alloc={RatioLine.Ratio(ours.BytesPerCall, theirs.BytesPerCall):0.00}"));
        }

        return 0;
    }

    /// <summary>Makes <paramref name="calls"/> calls from <paramref name="concurrency"/> callers, each checking its echo; records each call's latency.</summary>
    private static async Task RunCallsAsync(RpcSession session, int calls, int concurrency, int size, LatencyRecorder? latencies, CancellationToken cancellationToken)
    {
        var next = -1;
        var callers = new Task[concurrency];
        for (var c = 0; c < concurrency; c++)
        {
            var payload = new byte[size];
            callers[c] = Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) < calls)
                {
                    Random.Shared.NextBytes(payload);
                    var start = System.Diagnostics.Stopwatch.GetTimestamp();
                    var reply = await session.CallAsync(payload, cancellationToken).ConfigureAwait(false);
                    latencies?.RecordSince(start);
                    if (!reply.AsSpan().SequenceEqual(payload))
                    {
                        throw new InvalidOperationException(session.Name + ": a reply did not echo its request.");
                    }
                }
            }, cancellationToken);
        }

        await Task.WhenAll(callers).ConfigureAwait(false);
    }

    /// <summary>One client's figures.</summary>
    private sealed record RpcResult(int Calls, Measurement Measurement, TimeSpan BrokerCpu, bool BrokerInProcess, LatencySummary Latency)
    {
        public double CallsPerSecond => Calls / Measurement.Wall.TotalSeconds;

        /// <summary>Client and server together: the embedded broker (its thread <c>rdk:mock</c> when it runs in this process) is not either.</summary>
        public double CpuMicrosPerCall => (Measurement.Cpu - (BrokerInProcess ? BrokerCpu : TimeSpan.Zero)).TotalMicroseconds / Calls;

        public double BrokerCpuMicrosPerCall => BrokerCpu.TotalMicroseconds / Calls;

        public double BytesPerCall => (double)Measurement.AllocatedBytes / Calls;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{CallsPerSecond:N0} calls/s, {Latency}, CPU {CpuMicrosPerCall:N1} µs/call (+ broker {BrokerCpuMicrosPerCall:N1}), allocated {BytesPerCall:N0} B/call, thread-pool work items {(double)Measurement.WorkItems / Calls:N1}/call, context switches {(double)Measurement.Switches / Calls:N1}/call, GC {Measurement.Gen0}/{Measurement.Gen1}/{Measurement.Gen2}");
    }
}
