// The quickstart: request/reply over Kafka in one process. It starts the embedded Kafka broker (librdkafka's mock
// cluster, behind a proxy that answers waiting fetches when records arrive, as Kafka does), an RPC server with two methods, and an RPC client that makes 1,000 calls (some one at a time, most
// concurrently), one call that fails on the server and one that times out, then prints what happened.
//   dotnet run --project samples/Quickstart
//   dotnet run --project samples/Quickstart -- --bootstrap localhost:9092     (a real Kafka, e.g. the one in docker/)
using System.Diagnostics;
using System.Globalization;
using Messaging;
using Messaging.Rpc;
using Messaging.Samples.Quickstart;
using Messaging.Testing;
using Messaging.Testing.Security;

const string Requests = "quickstart-requests";
const string Replies = "quickstart-replies";
const int Calls = 1000;
const int Sequential = 100;
const int Workers = 16;

var bootstrap = Arguments.Bootstrap(args);
await using var cluster = bootstrap is null ? EmbeddedKafkaCluster.Start(brokers: 1) : null;

// The mock answers a fetch that found nothing only when its whole wait is over; the proxy answers it when records
// arrive, as Kafka does, so the client and server below keep Kafka's settings (a 500 ms fetch wait) on either broker.
await using var proxy = cluster is null ? null : KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerFetchesOnArrival = true });
if (cluster is not null)
{
    bootstrap = proxy!.BootstrapServers;
    cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(100));
    cluster.CreateTopic(Requests, partitions: 4);
    cluster.CreateTopic(Replies, partitions: 2);
    Console.WriteLine($"Embedded Kafka (librdkafka {EmbeddedKafkaCluster.LibrdkafkaVersion} mock cluster) at {bootstrap}, fetches answered on arrival");
}
else
{
    Console.WriteLine($"Kafka at {bootstrap}");
    await Topics.EnsureAsync(bootstrap!, Requests, partitions: 4);
}

// The server: a consumer group on the request topic; each method is a handler.
await using var server = new RpcServer(new RpcServerOptions
{
    BootstrapServers = bootstrap!,
    RequestTopics = [Requests],
    GroupId = "quickstart-calculator",
});
server.Map<AddRequest, AddReply>("Add", (request, _) => ValueTask.FromResult(new AddReply(request.A + request.B)))
    .Map<GreetRequest, GreetReply>("Greet", async (request, context) =>
    {
        switch (request.Name)
        {
            case "crash":
                throw new InvalidOperationException("greeter refuses '" + request.Name + "'");
            case "sleepy":
                await Task.Delay(TimeSpan.FromSeconds(5), context.CancellationToken); // the token fires at the caller's deadline
                break;
        }

        return new GreetReply("Hello, " + request.Name + "!");
    });
await server.StartAsync();

// The client: one per process, shared by every caller.
await using var client = new RpcClient(new RpcClientOptions
{
    BootstrapServers = bootstrap!,
    ReplyTopic = Replies,
    ReplyTopicPartitions = 2,
});
await client.StartAsync();

var joined = await ServerReady.WaitForAssignmentAsync(server, TimeSpan.FromSeconds(60));
Console.WriteLine($"Server joined its group with partitions [{string.Join(", ", server.Assignment.Select(p => p.Partition).Order())}] after {joined.TotalMilliseconds:F0} ms");

var latencies = new double[Calls];
var wrong = 0;
var clock = Stopwatch.StartNew();
for (var i = 0; i < Sequential; i++)
{
    await AddAsync(i);
}

var next = Sequential - 1;
await Task.WhenAll(Enumerable.Range(0, Workers).Select(async _ =>
{
    for (int i; (i = Interlocked.Increment(ref next)) < Calls;)
    {
        await AddAsync(i);
    }
}));
var elapsed = clock.Elapsed;

Array.Sort(latencies);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{Calls:N0} calls of Add ({Sequential} one at a time, then {Workers} concurrent callers): {Calls - wrong:N0} correct, {wrong} wrong, in {elapsed.TotalSeconds:F2} s ({Calls / elapsed.TotalSeconds:N0} calls/s)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"  latency ms: p50 {Percentile(0.50):F2}  p90 {Percentile(0.90):F2}  p99 {Percentile(0.99):F2}  max {latencies[^1]:F2}"));

var hello = await client.CallAsync<GreetRequest, GreetReply>(Requests, "Greet", new GreetRequest("Kafka"));
Console.WriteLine($"Greet(Kafka) -> \"{hello.Text}\"");
await ShowFailureAsync("Greet(crash), a handler that throws", () => client.CallAsync<GreetRequest, GreetReply>(Requests, "Greet", new GreetRequest("crash")));
await ShowFailureAsync("Greet(sleepy) with a 500 ms timeout", () => client.CallAsync<GreetRequest, GreetReply>(Requests, "Greet", new GreetRequest("sleepy"),
    new RpcCallOptions { Timeout = TimeSpan.FromMilliseconds(500) }));

var stats = server.Statistics;
Console.WriteLine($"Server: {stats.Received:N0} requests, {stats.Handled:N0} handled, {stats.HandlerErrors} handler errors, {stats.Replies:N0} replies, {stats.Expired} expired, {stats.Commits:N0} commits");
Console.WriteLine($"Client: {client.Statistics.CompletedCalls:N0} calls completed, {client.Statistics.DeadlinesExceeded} past their deadline, {client.Statistics.UnmatchedReplies} unmatched replies");
return wrong == 0 ? 0 : 1;

async Task AddAsync(int i)
{
    var start = Stopwatch.GetTimestamp();
    var sum = await client.CallAsync<AddRequest, AddReply>(Requests, "Add", new AddRequest(i, 1000));
    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    if (sum.Sum != i + 1000)
    {
        Interlocked.Increment(ref wrong);
    }
}

double Percentile(double p) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];

static async Task ShowFailureAsync(string what, Func<ValueTask<GreetReply>> call)
{
    var start = Stopwatch.GetTimestamp();
    try
    {
        var reply = await call();
        Console.WriteLine($"{what} -> unexpectedly succeeded: {reply.Text}");
    }
    catch (RpcException ex)
    {
        Console.WriteLine($"{what} -> {ex.Status} after {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F0} ms: {ex.Detail}");
    }
}
