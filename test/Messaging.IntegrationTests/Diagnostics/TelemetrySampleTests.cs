using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Diagnostics;

/// <summary>
/// samples/Messaging.Samples.Telemetry run as its users run it (its own process, the OpenTelemetry SDK's console
/// exporter): the spans and metrics it prints are the ones its comments tell a reader to look for. The sample is built
/// with this project (a project reference that is not referenced in code) and started with <c>dotnet</c> from its own
/// output folder, so nothing is rebuilt here.
/// </summary>
public sealed class TelemetrySampleTests
{
    private const string Rpc = "Messaging.Rpc";
    private const string Kafka = "Messaging.Kafka";

    [Fact]
    public async Task The_sample_prints_linked_kafka_spans_client_and_server_spans_of_one_trace_and_the_metrics()
    {
        var output = await DotnetProcess.RunAsync(RepositoryPaths.Root, [SampleAssembly()], TestContext.Current.CancellationToken);
        Assert.Contains("== telemetry sample OK", output, StringComparison.Ordinal);
        var spans = ExportedSpan.Parse(output);

        // Produce and consume: three send spans (children of the sample's checkout), each linked from a receive span
        // and the parent of the sample's process span.
        var sends = spans.Where(s => s.Is(Kafka, "send telemetry-orders", "Producer")).ToList();
        Assert.Equal(3, sends.Count);
        foreach (var send in sends)
        {
            Assert.Contains(spans, s => s.Is(Kafka, "receive telemetry-orders", "Consumer") && s.Text.Contains(send.TraceId + " " + send.SpanId, StringComparison.Ordinal));
            Assert.Contains(spans, s => s.Name == "process telemetry-orders" && s.TraceId == send.TraceId && s.ParentSpanId == send.SpanId);
        }

        // RPC: each client span has its server span as its child, in the same trace (the sample's quote span's); the
        // third call failed with NotFound.
        var clients = spans.Where(s => s.Is(Rpc, "telemetry-requests/Price", "Client")).ToList();
        Assert.Equal(3, clients.Count);
        foreach (var client in clients)
        {
            var server = Assert.Single(spans, s => s.Is(Rpc, "telemetry-requests/Price", "Server") && s.ParentSpanId == client.SpanId);
            Assert.Equal(client.TraceId, server.TraceId);
        }

        var failed = Assert.Single(clients, c => c.Text.Contains("rpc.response.status_code: NotFound", StringComparison.Ordinal));
        Assert.Contains("StatusCode: Error", failed.Text, StringComparison.Ordinal);

        // Metrics, printed once: the RPC duration histogram (with the failed call's status) and the Kafka client's.
        var metrics = output[output.IndexOf("Metric Name: ", StringComparison.Ordinal)..];
        Assert.Single(Lines(metrics), l => l.StartsWith("Metric Name: rpc.client.duration,", StringComparison.Ordinal));
        Assert.Single(Lines(metrics), l => l.StartsWith("Metric Name: messaging.rpc.client.calls,", StringComparison.Ordinal));
        Assert.Single(Lines(metrics), l => l.StartsWith("Metric Name: messaging.kafka.request.duration,", StringComparison.Ordinal));
        Assert.Contains("rpc.method: Price rpc.response.status_code: NotFound", metrics, StringComparison.Ordinal);
    }

    /// <summary>The sample's dll, in the same configuration and framework folder as this test's own output.</summary>
    private static string SampleAssembly()
    {
        var testProject = Path.Combine(RepositoryPaths.Root, "test", "Messaging.IntegrationTests");
        var outputFolder = Path.GetRelativePath(testProject, AppContext.BaseDirectory); // bin/{Configuration}/{framework}
        var sample = Path.Combine(RepositoryPaths.Root, "samples", "Messaging.Samples.Telemetry", outputFolder, "Messaging.Samples.Telemetry.dll");
        Assert.True(File.Exists(sample), sample + " is missing: the test project builds it through its project reference.");
        return sample;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.TrimEntries);

    /// <summary>One span as the console exporter prints it: a block from "Activity.TraceId:" to the next blank line.</summary>
    private sealed record ExportedSpan(string TraceId, string SpanId, string? ParentSpanId, string Name, string Kind, string Source, string Text)
    {
        public bool Is(string source, string name, string kind) => Source == source && Name == name && Kind == kind;

        public static List<ExportedSpan> Parse(string output)
        {
            var spans = new List<ExportedSpan>();
            var lines = Lines(output);
            for (var i = 0; i < lines.Length; i++)
            {
                if (!lines[i].StartsWith("Activity.TraceId:", StringComparison.Ordinal))
                {
                    continue;
                }

                var end = Array.FindIndex(lines, i, l => l.Length == 0);
                var block = lines[i..(end < 0 ? lines.Length : end)];
                var scope = Array.IndexOf(block, "Instrumentation scope (ActivitySource):");
                spans.Add(new ExportedSpan(
                    Field(block, "Activity.TraceId:")!,
                    Field(block, "Activity.SpanId:")!,
                    Field(block, "Activity.ParentSpanId:"),
                    Field(block, "Activity.DisplayName:")!,
                    Field(block, "Activity.Kind:")!,
                    scope < 0 ? "" : Field(block[(scope + 1)..], "Name:")!,
                    string.Join('\n', block)));
                i += block.Length - 1;
            }

            return spans;
        }

        private static string? Field(string[] block, string name)
        {
            foreach (var line in block)
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    return line[name.Length..].Trim();
                }
            }

            return null;
        }
    }
}
