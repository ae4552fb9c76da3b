
namespace Messaging.IntegrationTests.Cluster;

/// <summary>CreateTopics and DeleteTopics end to end, against a fake controller (the embedded broker has neither API).</summary>
public sealed class AdminControllerTests
{
    private static KafkaAdminClient Admin(FakeControllerBroker broker) => new(new KafkaAdminOptions
    {
        BootstrapServers = broker.BootstrapServers,
        DefaultApiTimeout = TimeSpan.FromSeconds(10),
        RetryBackoff = TimeSpan.FromMilliseconds(20),
    });

    [Fact(Timeout = 30_000)]
    public async Task Topics_are_created_with_their_settings_described_and_deleted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        await using var admin = Admin(broker);

        await admin.CreateTopicsAsync(
        [
            new NewTopic("orders", 6, 1) { Configs = new Dictionary<string, string> { ["cleanup.policy"] = "compact" } },
            new NewTopic("payments") { ReplicaAssignments = new Dictionary<int, int[]> { [0] = [1], [1] = [1] } },
        ], cancellationToken: ct);

        var orders = broker.Topics["orders"];
        Assert.Equal(6, orders.NumPartitions);
        Assert.Equal(1, orders.ReplicationFactor);
        Assert.Equal(("cleanup.policy", "compact"), (orders.Configs.Single().Name, orders.Configs.Single().Value));
        Assert.Equal(2, broker.Topics["payments"].Assignments.Length);
        Assert.Equal(6, Assert.Single(await admin.DescribeTopicsAsync(["orders"], ct)).Partitions.Count);

        await admin.DeleteTopicsAsync(["orders"], ct);
        Assert.False(broker.Topics.ContainsKey("orders"));
        Assert.True(broker.Topics.ContainsKey("payments"));
    }

    [Fact(Timeout = 30_000)]
    public async Task Validate_only_checks_without_creating()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        await using var admin = Admin(broker);
        await admin.CreateTopicsAsync([new NewTopic("dry-run", 3, 1)], validateOnly: true, ct);
        Assert.Empty(broker.Topics);
    }

    [Fact(Timeout = 30_000)]
    public async Task Per_topic_failures_come_back_together_and_the_rest_succeed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        await using var admin = Admin(broker);
        await admin.CreateTopicsAsync([new NewTopic("exists", 1, 1)], cancellationToken: ct);

        var error = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.CreateTopicsAsync(
            [new NewTopic("exists", 1, 1), new NewTopic("zero", 0, 1), new NewTopic("fine", 2, 1)], cancellationToken: ct));
        Assert.Equal(2, error.Errors.Count);
        Assert.Equal(ErrorCode.TopicAlreadyExists, ((KafkaErrorException)error.Errors["exists"]).Code);
        Assert.Equal(ErrorCode.InvalidPartitions, ((KafkaErrorException)error.Errors["zero"]).Code);
        Assert.False(error.IsRetriable);
        Assert.Contains("fake broker", error.Message, StringComparison.Ordinal); // the broker's own message is carried
        Assert.True(broker.Topics.ContainsKey("fine"));

        var missing = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DeleteTopicsAsync(["never-created"], ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, ((KafkaErrorException)missing.Errors["never-created"]).Code);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_topic_the_controller_leaves_out_of_its_response_fails_instead_of_counting_as_done()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        await using var admin = Admin(broker);
        broker.Unanswered["unanswered"] = true;

        var create = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.CreateTopicsAsync(
            [new NewTopic("answered", 1, 1), new NewTopic("unanswered", 1, 1)], cancellationToken: ct));
        Assert.Equal("unanswered", Assert.Single(create.Errors).Key);
        Assert.Contains("no result", create.Errors["unanswered"].Message, StringComparison.Ordinal);
        Assert.False(create.IsRetriable); // whether the controller acted on it is unknown: not blindly sent again
        Assert.Equal(1, broker.ControllerRequests);

        var delete = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DeleteTopicsAsync(["answered", "unanswered"], ct));
        Assert.Equal("unanswered", Assert.Single(delete.Errors).Key);
        Assert.False(broker.Topics.ContainsKey("answered"));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_topic_named_twice_is_deleted_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        await using var admin = Admin(broker);
        await admin.CreateTopicsAsync([new NewTopic("twice", 1, 1), new NewTopic("once", 1, 1)], cancellationToken: ct);

        await admin.DeleteTopicsAsync(["twice", "once", "twice"], ct);

        Assert.Empty(broker.Topics);
        Assert.Equal(["twice", "once"], Assert.Single(broker.DeleteRequests)); // Kafka refuses a name given twice (INVALID_REQUEST)
    }

    [Fact(Timeout = 30_000)]
    public async Task Deleting_a_topic_that_does_not_exist_fails_at_once_instead_of_retrying_until_the_api_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        await using var admin = Admin(broker);
        await admin.CreateTopicsAsync([new NewTopic("present", 1, 1)], cancellationToken: ct);
        var before = broker.ControllerRequests;

        // The controller is the authority on which topics exist: its UNKNOWN_TOPIC_OR_PARTITION is the answer, not stale metadata.
        var missing = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DeleteTopicsAsync(["present", "never-created"], ct));

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, ((KafkaErrorException)Assert.Single(missing.Errors).Value).Code);
        Assert.Equal(1, broker.ControllerRequests - before);
        Assert.Empty(broker.Topics);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_topic_described_then_deleted_is_not_asked_for_again_so_auto_creation_cannot_bring_it_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        broker.AutoCreateTopics = true;
        await using var admin = new KafkaAdminClient(new KafkaAdminOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DefaultApiTimeout = TimeSpan.FromSeconds(10),
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            AllowAutoCreateTopics = true, // topics created by asking for their metadata (see KafkaAdminClient's remarks)
        });
        await admin.CreateTopicsAsync([new NewTopic("temporary", 2, 1)], cancellationToken: ct);
        Assert.Equal(2, Assert.Single(await admin.DescribeTopicsAsync(["temporary"], ct)).Partitions.Count);

        await admin.DeleteTopicsAsync(["temporary"], ct);
        var cluster = await admin.DescribeClusterAsync(ct); // what a health check does every few seconds

        Assert.DoesNotContain("temporary", cluster.Topics.Keys);
        Assert.False(broker.Topics.ContainsKey("temporary")); // a Metadata request naming it would have created it again
    }

    [Fact(Timeout = 30_000)]
    public async Task A_controller_that_answers_too_late_fails_the_call_at_the_api_timeout_not_the_request_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        broker.CreateDelay = TimeSpan.FromSeconds(20);
        await using var admin = new KafkaAdminClient(new KafkaAdminOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DefaultApiTimeout = TimeSpan.FromMilliseconds(500),
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            RequestTimeout = TimeSpan.FromSeconds(30),
        });
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.CreateTopicsAsync([new NewTopic("slow", 1, 1)], cancellationToken: ct));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "the call took " + watch.Elapsed);
        Assert.Equal(ApiKey.CreateTopics, Assert.IsType<KafkaTimeoutException>(error.Errors["slow"]).ApiKey);
    }

    [Fact(Timeout = 30_000)]
    public async Task Not_controller_is_retried_after_a_metadata_refresh()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeControllerBroker.Start();
        await using var admin = Admin(broker);
        broker.FailNextControllerRequests(2);

        await admin.CreateTopicsAsync([new NewTopic("after-retries", 1, 1)], cancellationToken: ct);

        Assert.True(broker.Topics.ContainsKey("after-retries"));
        Assert.Equal(3, broker.ControllerRequests); // two NOT_CONTROLLER, then success
    }
}
