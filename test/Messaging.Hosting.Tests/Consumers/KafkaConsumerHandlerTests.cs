using System.Text;
using Messaging.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Messaging.Core.Tests.Connection;
using Messaging.IntegrationTests.Support;
using static Messaging.Hosting.Tests.Consumers.HostedConsumerHost;

namespace Messaging.Hosting.Tests.Consumers;

/// <summary>
/// The hosted consumer (<c>AddKafkaConsumerHandler</c>) in a generic host on the embedded cluster: every record handled
/// once, in order per partition and in parallel across partitions; a graceful stop that lets handlers in flight finish
/// and commits them; dead letters; validation at start; the "group joined" health check.
/// </summary>
public sealed class KafkaConsumerHandlerTests
{
    [Fact(Timeout = 120_000)]
    public async Task Every_record_of_twelve_partitions_is_handled_once_in_partition_order_with_handlers_running_in_parallel()
    {
        var ct = TestContext.Current.CancellationToken;
        const int Partitions = 12, PerPartition = 40;
        await using var cluster = StartCluster("orders", Partitions);
        await ProduceEveryPartitionAsync(cluster.BootstrapServers, "orders", Partitions, PerPartition, ct);

        var log = new HandlingLog();
        using var host = Build<RecordingHandler>(Settings(cluster.BootstrapServers, "orders", NewGroup(), ("Orders:MaxConcurrency", "4")), log);
        await host.StartAsync(ct);
        await Eventually.TrueAsync(() => log.Handled.Count >= Partitions * PerPartition, Deadline, "every record handled", ct);
        await host.StopAsync(ct);

        Assert.Equal(Partitions * PerPartition, log.Handled.Count);
        Assert.Equal(Partitions * PerPartition, log.Handled.Select(h => (h.Partition, h.Offset)).Distinct().Count());
        for (int p = 0; p < Partitions; p++)
        {
            Assert.Equal(Enumerable.Range(0, PerPartition).Select(i => (long)i), log.OffsetsOf(p));
        }

        Assert.Equal(0, log.Overlaps);
        Assert.InRange(log.MaxRunning, 2, 4);
    }

    [Fact(Timeout = 120_000)]
    public async Task Stopping_the_host_lets_handlers_in_flight_finish_commits_them_and_a_second_host_resumes_after_them()
    {
        var ct = TestContext.Current.CancellationToken;
        const int Partitions = 12, PerPartition = 3;
        await using var cluster = StartCluster("orders", Partitions);
        await ProduceEveryPartitionAsync(cluster.BootstrapServers, "orders", Partitions, PerPartition, ct);

        var group = NewGroup();
        var first = new HandlingLog();
        using (var host = Build<GatedHandler>(Settings(cluster.BootstrapServers, "orders", group, ("Orders:MaxConcurrency", "4")), first))
        {
            await host.StartAsync(ct);
            await Eventually.TrueAsync(() => first.Started.Count == 4, Deadline, "four handlers in flight", ct);

            var stopping = host.StopAsync(ct);
            await HealthUntilAsync(host, e => e.Description?.Contains("stopping", StringComparison.Ordinal) == true, "the hosted consumer stopping", ct);
            first.Gate.SetResult(); // the handlers in flight finish only now, while the host stops
            await stopping;
        }

        Assert.Empty(first.Cancelled);
        Assert.Equal(4, first.Started.Count); // nothing new started once stopping
        Assert.Equal(first.Started.OrderBy(s => s).ToList(), first.Handled.Select(h => (h.Partition, h.Offset)).OrderBy(s => s).ToList());

        var second = new HandlingLog();
        using (var host = Build<RecordingHandler>(Settings(cluster.BootstrapServers, "orders", group), second))
        {
            await host.StartAsync(ct);
            await Eventually.TrueAsync(() => second.Handled.Count >= Partitions * PerPartition - 4, Deadline, "the second host handling the rest", ct);
            await host.StopAsync(ct);
        }

        var firstHandled = first.Handled.Select(h => (h.Partition, h.Offset)).ToHashSet();
        var secondHandled = second.Handled.Select(h => (h.Partition, h.Offset)).ToList();
        Assert.Equal(Partitions * PerPartition - 4, secondHandled.Count);
        Assert.DoesNotContain(secondHandled, firstHandled.Contains);
        Assert.Equal(Partitions * PerPartition, firstHandled.Union(secondHandled).Count());
    }

    [Fact(Timeout = 120_000)]
    public async Task When_the_host_stops_waiting_before_the_drain_timeout_the_handlers_in_flight_are_cancelled_and_the_member_leaves()
    {
        var ct = TestContext.Current.CancellationToken;
        const int Partitions = 4;
        await using var cluster = StartCluster("orders", Partitions);
        await ProduceEveryPartitionAsync(cluster.BootstrapServers, "orders", Partitions, 2, ct);

        var log = new HandlingLog();
        // A drain timeout far beyond the host's patience: the host's stop token must bound the stop, not this.
        using var host = Build<GatedHandler>(Settings(cluster.BootstrapServers, "orders", NewGroup(), ("Orders:DrainTimeout", "00:10:00")), log);
        await host.StartAsync(ct);
        await Eventually.TrueAsync(() => log.Started.Count == Partitions, Deadline, "a handler in flight on every partition", ct);

        using var hostGivesUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var stopping = host.StopAsync(hostGivesUp.Token);
        await HealthUntilAsync(host, e => e.Description?.Contains("stopping", StringComparison.Ordinal) == true, "the hosted consumer stopping", ct);
        await hostGivesUp.CancelAsync(); // the host's shutdown timeout runs out
        await stopping;

        // The handlers still running are told to give up (their records are not committed and run again elsewhere),
        // and the service goes on to leave the group, instead of running on for the drain timeout after the host left.
        await Eventually.TrueAsync(() => log.Cancelled.Count == Partitions, Deadline, "the handlers in flight cancelled", ct);
        await HealthUntilAsync(host, e => e.Description?.Contains("stopped", StringComparison.Ordinal) == true, "the hosted consumer stopped", ct);
        Assert.Empty(log.Handled);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_record_whose_handler_always_throws_goes_to_the_dead_letter_topic_with_the_error_and_its_partition_flows_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster("payments", 3);
        cluster.CreateTopic("payments.dead-letters", 1);
        var log = new HandlingLog();
        var settings = Settings(cluster.BootstrapServers, "payments", NewGroup(),
            ("Orders:DeadLetterTopic", "payments.dead-letters"), ("Orders:MaxAttempts", "3"), ("Orders:RetryBackoff", "00:00:00.010"),
            ("Kafka:Producer:BootstrapServers", cluster.BootstrapServers));
        using var host = Build<PoisonHandler>(settings, log, b => b.Services.AddKafkaProducer(b.Configuration.GetSection("Kafka:Producer")));
        await host.StartAsync(ct);

        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await ProduceAsync(producer, "payments", 1, "k-a", "a", ct);
            await ProduceAsync(producer, "payments", 1, "k-poison", "poison", ct, new RecordHeader("trace", "abc"u8.ToArray()));
            await ProduceAsync(producer, "payments", 1, "k-b", "b", ct);
            await ProduceAsync(producer, "payments", 1, "k-c", "c", ct);
            await ProduceAsync(producer, "payments", 0, "k-d", "d", ct);
        }

        await Eventually.TrueAsync(() => log.Handled.Count(h => h.Value is "a" or "b" or "c" or "d") == 4, Deadline, "the records around the poison handled", ct);
        Assert.Equal([0L, 2L, 3L], log.OffsetsOf(1));
        Assert.Equal(3, log.AttemptsByValue["poison"]);

        var dead = await ReadFirstDeadLetterAsync(cluster.BootstrapServers, "payments.dead-letters", ct);
        Assert.Equal("k-poison", Encoding.UTF8.GetString(dead.Key!));
        Assert.Equal("poison", Encoding.UTF8.GetString(dead.Value!));
        var headers = dead.Headers.ToDictionary();
        Assert.Equal("trace", dead.Headers[0].Key); // the original headers first
        Assert.Equal("abc", headers["trace"]);
        Assert.Equal(typeof(InvalidOperationException).FullName, headers[DeadLetterHeaders.ErrorType]);
        Assert.Equal("cannot handle poison at 1", headers[DeadLetterHeaders.ErrorMessage]);
        Assert.Equal("payments", headers[DeadLetterHeaders.SourceTopic]);
        Assert.Equal("1", headers[DeadLetterHeaders.SourcePartition]);
        Assert.Equal("1", headers[DeadLetterHeaders.SourceOffset]);
        Assert.Equal("3", headers[DeadLetterHeaders.Attempts]);
        Assert.Equal(HealthStatus.Healthy, (await HealthAsync(host, ct)).Status);
        await host.StopAsync(ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_dead_letter_that_fails_with_a_non_kafka_error_stops_its_partition_visibly_instead_of_killing_its_worker_silently()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster("payments", 2);
        cluster.CreateTopic("payments.dead-letters", 1);
        var log = new HandlingLog();
        var settings = Settings(cluster.BootstrapServers, "payments", NewGroup(),
            ("Orders:DeadLetterTopic", "payments.dead-letters"), ("Orders:MaxAttempts", "1"), ("Kafka:Producer:BootstrapServers", cluster.BootstrapServers));
        using var host = Build<PoisonHandler>(settings, log, b => b.Services.AddKafkaProducer(b.Configuration.GetSection("Kafka:Producer")));
        await host.StartAsync(ct);
        await HealthUntilAsync(host, e => e.Status == HealthStatus.Healthy && e.Data.TryGetValue("partitions", out var count) && count is 2, "a member with both partitions", ct);

        // The dead letters' producer is gone (disposed by the application): producing throws ObjectDisposedException.
        await host.Services.GetRequiredService<KafkaProducer>().DisposeAsync();
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await ProduceAsync(producer, "payments", 0, "k", "poison", ct);
            await ProduceAsync(producer, "payments", 0, "k", "after", ct);
            var degraded = await HealthUntilAsync(host, e => e.Status == HealthStatus.Degraded, "degraded by the partition whose dead letter failed", ct);
            Assert.Contains("payments/0", degraded.Description, StringComparison.Ordinal);
            Assert.Contains("producing its dead letter failed", degraded.Description, StringComparison.Ordinal);
            await ProduceAsync(producer, "payments", 1, "k", "other", ct);
        }

        await Eventually.TrueAsync(() => log.Handled.Any(h => h.Value == "other"), Deadline, "the other partition flowing", ct);
        Assert.DoesNotContain(log.Handled, h => h.Value == "after"); // nothing after the record is handled, so nothing after it is committed
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task Invalid_settings_fail_the_start_naming_their_configuration_keys()
    {
        var ct = TestContext.Current.CancellationToken;
        var noGroup = Settings("localhost:9092", "orders", "unused");
        noGroup.Remove("Orders:Consumer:GroupId");
        using (var host = Build<RecordingHandler>(noGroup, new HandlingLog()))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));
            Assert.Contains("Orders:Consumer:GroupId", error.Message, StringComparison.Ordinal);
        }

        var wrong = Settings("localhost:9092", "orders", "group", ("Orders:MaxConcurrency", "0"), ("Orders:DeadLetterTopic", "orders.dead-letters"), ("Orders:MaxRetryBackoff", "00:00:00.001"));
        wrong.Remove("Orders:Topics:0");
        using (var host = Build<RecordingHandler>(wrong, new HandlingLog()))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));
            Assert.Contains("Orders:MaxConcurrency: must be between 1 and 1024", error.Message, StringComparison.Ordinal);
            Assert.Contains("Orders:Topics: at least one topic", error.Message, StringComparison.Ordinal);
            Assert.Contains("Orders:DeadLetterTopic: dead letters need a producer", error.Message, StringComparison.Ordinal);
            Assert.Contains("Orders:MaxRetryBackoff", error.Message, StringComparison.Ordinal);
        }

        // The consumer's own settings are checked by the client's validation, under their keys too.
        using (var host = Build<RecordingHandler>(Settings("localhost:9092", "orders", "group", ("Orders:Consumer:MaxPollRecords", "0")), new HandlingLog()))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));
            Assert.Contains("Orders:Consumer:MaxPollRecords", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Waits_longer_than_a_timer_can_take_fail_the_start_instead_of_the_drain_or_the_retry()
    {
        var ct = TestContext.Current.CancellationToken;
        // Beyond int.MaxValue ms a timer refuses the wait (ArgumentOutOfRangeException): at a rebalance or the host's
        // stop for DrainTimeout, in a record's retry for MaxRetryBackoff — long after the start said the settings were fine.
        var tooLong = Settings("localhost:9092", "orders", "group", ("Orders:DrainTimeout", "100.00:00:00"),
            ("Orders:RetryBackoff", "60.00:00:00"), ("Orders:MaxRetryBackoff", "100.00:00:00"));
        using var host = Build<RecordingHandler>(tooLong, new HandlingLog());
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));
        Assert.Contains("Orders:DrainTimeout: must be", error.Message, StringComparison.Ordinal);
        Assert.Contains("Orders:RetryBackoff: must be", error.Message, StringComparison.Ordinal);
        Assert.Contains("Orders:MaxRetryBackoff: must be", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_handler_setting_binds_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orders:Topics:0"] = "a",
            ["Orders:Topics:1"] = "b",
            ["Orders:MaxConcurrency"] = "3",
            ["Orders:PartitionBufferSize"] = "7",
            ["Orders:MaxAttempts"] = "5",
            ["Orders:RetryBackoff"] = "00:00:01",
            ["Orders:MaxRetryBackoff"] = "00:00:09",
            ["Orders:DeadLetterTopic"] = "dead",
            ["Orders:DeadLetterProducerKey"] = "dlq",
            ["Orders:DrainTimeout"] = "00:00:04",
            ["Orders:Consumer:GroupId"] = "g",
            ["Orders:Consumer:BootstrapServers"] = "localhost:9092",
        }).Build();
        var services = new ServiceCollection();
        services.AddKafkaConsumerHandler<RecordingHandler, string, string>(configuration.GetSection("Orders"));
        services.AddKafkaProducer(null, o => o.BootstrapServers = "localhost:9092", serviceKey: "dlq"); // the dead letters' producer must exist
        using var provider = services.BuildServiceProvider();
        var name = "Messaging.Hosting.ConsumerHandler:" + typeof(RecordingHandler).FullName;
        var options = provider.GetRequiredService<IOptionsMonitor<KafkaConsumerHandlerOptions>>().Get(name);

        Assert.Equal(["a", "b"], options.Topics);
        Assert.Equal((3, 7, 5), (options.MaxConcurrency, options.PartitionBufferSize, options.MaxAttempts));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(4)), (options.RetryBackoff, options.MaxRetryBackoff, options.DrainTimeout));
        Assert.Equal(("dead", "dlq"), (options.DeadLetterTopic, options.DeadLetterProducerKey));
        var consumer = provider.GetRequiredService<IOptionsMonitor<KafkaConsumerOptions>>().Get(name);
        Assert.Equal("g", consumer.GroupId);
        Assert.False(consumer.EnableAutoOffsetStore); // offsets are stored after handling, whatever the configuration says
        Assert.True(consumer.EnableAutoCommit);
        Assert.Throws<InvalidOperationException>(() => services.AddKafkaConsumerHandler<RecordingHandler, string, string>(configuration.GetSection("Orders")));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_logger_that_throws_on_every_hosted_consumer_event_loses_the_events_and_nothing_else()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster("orders", 1);
        var log = new HandlingLog();
        var throwing = new ThrowingLog(static message => message.StartsWith("Hosted consumer", StringComparison.Ordinal));
        var settings = Settings(cluster.BootstrapServers, "orders", NewGroup(), ("Orders:MaxAttempts", "2"), ("Orders:RetryBackoff", "00:00:00.010"));
        using var host = Build<PoisonHandler>(settings, log, b => b.Services.AddSingleton<ILoggerFactory>(throwing));
        await host.StartAsync(ct);

        // Its subscription, each failed attempt and the stopped partition are logged (and the logger throws each time):
        // the handler is still retried, the partition stopped visibly, and the records before it handled.
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await ProduceAsync(producer, "orders", 0, "k", "before", ct);
            await ProduceAsync(producer, "orders", 0, "k", "poison", ct);
        }

        var degraded = await HealthUntilAsync(host, e => e.Status == HealthStatus.Degraded, "degraded by the stopped partition", ct);
        Assert.Contains("orders/0", degraded.Description, StringComparison.Ordinal);
        Assert.Contains(log.Handled, h => h.Value == "before");
        Assert.Equal(2, log.AttemptsByValue["poison"]);
        Assert.True(throwing.Thrown >= 4, "the logger threw " + throwing.Thrown + " time(s)");
        await host.StopAsync(ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_health_check_is_healthy_with_an_assignment_degraded_with_a_stopped_partition_and_unhealthy_once_the_member_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster("orders", 2);
        var log = new HandlingLog();
        var settings = Settings(cluster.BootstrapServers, "orders", NewGroup(),
            ("Orders:Consumer:GroupInstanceId", "orders-1"), ("Orders:MaxAttempts", "2"), ("Orders:RetryBackoff", "00:00:00.010"));
        using var host = Build<PoisonHandler>(settings, log);
        Assert.Equal(HealthStatus.Unhealthy, (await HealthAsync(host, ct)).Status); // not started

        await host.StartAsync(ct);
        var joined = await HealthUntilAsync(host, e => e.Status == HealthStatus.Healthy && e.Data.TryGetValue("partitions", out var count) && count is 2, "a member with both partitions", ct);
        Assert.NotEqual("", joined.Data["member.id"]);

        // Without a dead-letter topic a record that keeps failing stops its partition; the other one flows on.
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await ProduceAsync(producer, "orders", 0, "k", "poison", ct);
            await ProduceAsync(producer, "orders", 0, "k", "after", ct);
            var degraded = await HealthUntilAsync(host, e => e.Status == HealthStatus.Degraded, "degraded by the stopped partition", ct);
            Assert.Contains("orders/0", degraded.Description, StringComparison.Ordinal);
            await ProduceAsync(producer, "orders", 1, "k", "other", ct);
        }

        await Eventually.TrueAsync(() => log.Handled.Any(h => h.Value == "other"), Deadline, "the other partition flowing", ct);
        Assert.DoesNotContain(log.Handled, h => h.Value == "after");
        Assert.Equal(2, log.AttemptsByValue["poison"]);

        // A static member fenced by its coordinator is out for good.
        cluster.PushRequestErrors(ApiKey.Heartbeat, ErrorCode.FencedInstanceId);
        var failed = await HealthUntilAsync(host, e => e.Status == HealthStatus.Unhealthy, "unhealthy after the member was fenced", ct);
        Assert.Contains("failed", failed.Description, StringComparison.Ordinal);
        Assert.IsAssignableFrom<KafkaException>(failed.Exception);
        await host.StopAsync(ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_rebalance_the_member_refuses_and_rejoins_after_is_logged_and_the_hosted_consumer_goes_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster("orders", 2);
        var group = NewGroup();
        var hostedAssignor = new RefusedOnceAssignor.Outcome();
        var log = new HandlingLog();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(Settings(cluster.BootstrapServers, "orders", group));
        builder.Services.AddSingleton(log);
        builder.Services.AddKafkaConsumerHandler<RecordingHandler, string, string>(builder.Configuration.GetSection("Orders"), configureConsumer: consumer =>
        {
            consumer.PartitionAssignmentStrategy = RefusedOnceAssignor.AssignorName;
            consumer.CustomPartitionAssignors.Add(() => new RefusedOnceAssignor(hostedAssignor));
        });
        builder.Services.AddHealthChecks().AddKafkaConsumerHandler<RecordingHandler>(name: "orders");
        using var host = builder.Build();
        await host.StartAsync(ct);
        await HealthUntilAsync(host, e => e.Status == HealthStatus.Healthy && e.Data.TryGetValue("partitions", out var count) && count is 2, "the hosted member (the leader) with both partitions", ct);

        // A second member joins: the hosted leader's assignor first moves both partitions straight to it, which the
        // cooperative check refuses — the leader's next consume call reports it and the member rejoins — then keeps
        // them where they are.
        var options = new KafkaConsumerOptions { BootstrapServers = cluster.BootstrapServers, GroupId = group, PartitionAssignmentStrategy = RefusedOnceAssignor.AssignorName };
        options.CustomPartitionAssignors.Add(() => new RefusedOnceAssignor(new RefusedOnceAssignor.Outcome()));
        await using var other = new KafkaConsumer<string?, string?>(options, Deserializers.Utf8, Deserializers.Utf8);
        other.Subscribe(["orders"]);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var otherLoop = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in other.ConsumeAsync(reading.Token))
                {
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, ct);

        await Eventually.TrueAsync(() => hostedAssignor.Settled, Deadline, "the hosted leader's assignor refusing once, then assigning the two members", ct);

        // The hosted consumer went on: what arrives now is handled (a stopped one would have left the group).
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await ProduceAsync(producer, "orders", 0, "k", "after-0", ct);
            await ProduceAsync(producer, "orders", 1, "k", "after-1", ct);
        }

        await Eventually.TrueAsync(() => log.Handled.Count(h => h.Value is "after-0" or "after-1") == 2, Deadline, "the records produced after the refused rebalance handled", ct);
        Assert.NotEqual(HealthStatus.Unhealthy, (await HealthAsync(host, ct)).Status);
        await reading.CancelAsync();
        await otherLoop;
        await host.StopAsync(ct);
    }

    /// <summary>
    /// A cooperative assignor whose first assignment of several members gives every partition to a member that does
    /// not own it — a move the cooperative rules forbid, refused by the leader's check — and afterwards keeps each
    /// partition with its owner (unowned ones to the first member).
    /// </summary>
    private sealed class RefusedOnceAssignor(RefusedOnceAssignor.Outcome outcome) : Messaging.Groups.IConsumerPartitionAssignor
    {
        public const string AssignorName = "refused-once";

        public sealed class Outcome
        {
            private int _assignments;

            /// <summary>True once this assignor made the refused assignment and then a valid one of several members.</summary>
            public bool Settled => Volatile.Read(ref _assignments) >= 2;

            public int Next() => Interlocked.Increment(ref _assignments);
        }

        public string Name => AssignorName;

        public IReadOnlyList<Messaging.Groups.RebalanceProtocol> SupportedProtocols => [Messaging.Groups.RebalanceProtocol.Cooperative];

        public ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics) => null;

        public void OnAssignment(Messaging.Groups.ConsumerAssignment assignment, int generationId)
        {
        }

        public IReadOnlyDictionary<string, Messaging.Groups.ConsumerAssignment> Assign(Messaging.Groups.AssignorClusterView cluster,
            IReadOnlyDictionary<string, Messaging.Groups.ConsumerSubscription> subscriptions)
        {
            var members = subscriptions.Keys.Order(StringComparer.Ordinal).ToList();
            var refuse = members.Count > 1 && outcome.Next() == 1;
            var given = members.ToDictionary(m => m, _ => new List<TopicPartition>(), StringComparer.Ordinal);
            for (var p = 0; p < cluster.GetPartitionCount("orders"); p++)
            {
                var partition = new TopicPartition("orders", p);
                var owner = members.FirstOrDefault(m => subscriptions[m].OwnedPartitions.Contains(partition));
                var target = refuse ? members.FirstOrDefault(m => m != owner) ?? members[0] : owner ?? members[0];
                given[target].Add(partition);
            }

            return given.ToDictionary(g => g.Key, g => new Messaging.Groups.ConsumerAssignment(g.Value), StringComparer.Ordinal);
        }
    }
}
