using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// A commit interval longer than a timer can wait (~49.7 days; <see cref="TimeSpan.MaxValue"/> for "only on revocation
/// and at shutdown"), or shorter than the millisecond a periodic timer counts in, is honoured: the server answers, and
/// commits what it answered when it is disposed.
/// </summary>
public sealed class LongCommitIntervalTests(TestBrokerFixture fixture)
{
    public sealed record Call(int Index);

    public sealed record Answer(int Index);

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_server_whose_commit_interval_no_timer_takes_answers_and_commits_at_shutdown(bool shortest)
    {
        // The longest interval validation accepts, and the shortest: one tick.
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var group = ServerTestSupport.NewGroup();
        var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, group, "s", o => o.CommitInterval = shortest ? TimeSpan.FromTicks(1) : TimeSpan.MaxValue));
        server.Map<Call, Answer>("Echo", (call, _) => ValueTask.FromResult(new Answer(call.Index)));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using (var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies)))
        {
            Assert.Equal(7, (await client.CallAsync<Call, Answer>(requests, "Echo", new Call(7), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) }, ct)).Index);
        }

        var error = await Record.ExceptionAsync(() => server.DisposeAsync().AsTask());

        Assert.Null(error);
        using var reader = new CK.ConsumerBuilder<byte[], byte[]>(new CK.ConsumerConfig { BootstrapServers = broker.BootstrapServers, GroupId = group, EnableAutoCommit = false }).Build();
        var partitions = Enumerable.Range(0, ServerTestSupport.RequestPartitions).Select(p => new CK.TopicPartition(requests, p)).ToList();
        var committed = reader.Committed(partitions, TimeSpan.FromSeconds(10)).Sum(c => Math.Max(0, c.Offset.Value));
        Assert.Equal(1, committed);
    }
}
