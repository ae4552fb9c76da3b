using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A classic consumer's pattern subscription, with the default metadata age.</summary>
public sealed class PatternSubscribeTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_new_pattern_subscription_is_matched_against_fresh_metadata_at_once_not_at_the_next_metadata_age()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();

        // The default metadata age (5 min): only the subscription itself can make the pattern meet the topic soon.
        var options = SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup());
        Assert.Equal(TimeSpan.FromMinutes(5), options.MetadataMaxAge);
        await using var consumer = ConsumerTestSupport.Bytes(options);
        consumer.Subscribe(["billing"]);
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 3, TimeSpan.FromSeconds(20), "the three partitions of billing assigned", ct);

        // The cached metadata knows billing only: the pattern must be matched against a refresh made for it.
        consumer.Subscribe(new System.Text.RegularExpressions.Regex("^audit\\..*"));

        // (The embedded coordinator holds each rebalance of a stable group for the session timeout less a second: two here.)
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 3 && consumer.Assignment.All(p => p.Topic == "audit.orders"), TimeSpan.FromSeconds(40),
            "the three partitions of audit.orders assigned", ct);
        Assert.All(consumer.Assignment, p => Assert.Equal("audit.orders", p.Topic));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_pattern_takes_the_topics_whose_whole_name_matches_as_the_Java_client_and_a_KIP_848_coordinator_do()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        await using var consumer = ConsumerTestSupport.Bytes(SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup()));
        consumer.Subscribe(new System.Text.RegularExpressions.Regex("audit|billing")); // audit.orders only contains a match
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 3, TimeSpan.FromSeconds(20), "the three partitions of billing assigned", ct);
        Assert.Equal(["billing"], consumer.Subscription);
        Assert.All(consumer.Assignment, p => Assert.Equal("billing", p.Topic));
    }

    [Fact(Timeout = 60_000)]
    public async Task Intervals_of_TimeSpan_MaxValue_mean_never_and_the_group_still_matches_its_pattern_and_disposes_cleanly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var options = SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup());
        options.MetadataMaxAge = TimeSpan.MaxValue;
        options.AutoCommitInterval = TimeSpan.MaxValue;
        var consumer = ConsumerTestSupport.Bytes(options);
        try
        {
            // The group's background loop matches a new pattern at once; a date overflow there would end the loop for good.
            consumer.Subscribe(new System.Text.RegularExpressions.Regex("^audit\\..*"));
            await Eventually.TrueAsync(() => consumer.Assignment.Count == 3, TimeSpan.FromSeconds(20), "the three partitions of audit.orders assigned", ct);
            Assert.All(consumer.Assignment, p => Assert.Equal("audit.orders", p.Topic));
        }
        finally
        {
            await consumer.DisposeAsync(); // throws if the background loop faulted
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_pattern_match_that_times_out_is_reported_at_a_consume_call_and_the_group_goes_on_matching()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var crafted = new string('a', 60); // (a+)+b tries every split of its a's before it fails: far past the MatchTimeout
        cluster.CreateTopic(crafted, 1, replicationFactor: 1);
        var options = SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup(), configure: o => o.MetadataMaxAge = TimeSpan.FromSeconds(1));
        var consumer = ConsumerTestSupport.Bytes(options);
        try
        {
            consumer.Subscribe(new System.Text.RegularExpressions.Regex("(a+)+b|billing.*", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(20)));

            var reported = await GroupErrorAtAConsumeCallAsync(consumer, ct);
            Assert.Contains("timed out", reported.Message, StringComparison.Ordinal);
            Assert.Contains(crafted, reported.Message, StringComparison.Ordinal);
            await Eventually.TrueAsync(() => consumer.Assignment.Count == 3 && consumer.Assignment.All(p => p.Topic == "billing"), TimeSpan.FromSeconds(40),
                "the three partitions of billing assigned", ct);
            Assert.DoesNotContain(crafted, consumer.Subscription);

            // The group's background loop goes on: a topic created since is matched at a later check.
            cluster.CreateTopic("billing.eu", 2, replicationFactor: 1);
            await Eventually.TrueAsync(() => consumer.Assignment.Count(p => p.Topic == "billing.eu") == 2, TimeSpan.FromSeconds(40),
                "the two partitions of billing.eu assigned", ct);
        }
        finally
        {
            await consumer.DisposeAsync(); // throws if the background loop faulted
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_pattern_match_that_ends_after_an_unsubscribe_and_a_new_subscription_makes_the_new_member_rejoin()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        await using var consumer = ConsumerTestSupport.Bytes(SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup()));
        consumer.Subscribe(new System.Text.RegularExpressions.Regex("^audit\\..*"));
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 3, TimeSpan.FromSeconds(20), "the three partitions of audit.orders assigned", ct);

        // A topic the cached metadata does not know yet, then a metadata check whose refresh the broker holds.
        cluster.CreateTopic("zeta", 2, replicationFactor: 1);
        cluster.StartRequestTracking();
        cluster.PushBrokerRequestErrors(1, ApiKey.Metadata, (ErrorCode.None, TimeSpan.FromSeconds(5)));
        consumer.Subscribe(new System.Text.RegularExpressions.Regex("^audit\\..*")); // matched again at once
        await Eventually.TrueAsync(() => cluster.GetTrackedRequests().Any(r => r.ApiKey == ApiKey.Metadata), TimeSpan.FromSeconds(20), "the held metadata refresh at the broker", ct);

        // Meanwhile the application subscribes anew: the new member joins with what the cached metadata matches (nothing).
        await consumer.UnsubscribeAsync(ct);
        consumer.Subscribe(new System.Text.RegularExpressions.Regex("^zeta$"));

        // The held refresh brings zeta: the new member must rejoin for it, not the one that left.
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 2 && consumer.Assignment.All(p => p.Topic == "zeta"), TimeSpan.FromSeconds(40),
            "the two partitions of zeta assigned", ct);
    }

    /// <summary>Asks for records until a consume call throws the group's error.</summary>
    private static async Task<KafkaGroupException> GroupErrorAtAConsumeCallAsync(KafkaConsumer<byte[]?, byte[]?> consumer, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20), "the group's error at a consume call (waited 20 s)");
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                using var batch = await consumer.ConsumeBatchAsync(wait.Token);
            }
            catch (KafkaGroupException ex)
            {
                return ex;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // No record and no error within the wait: ask again.
            }
        }
    }

    private static EmbeddedKafkaCluster StartCluster()
    {
        var cluster = EmbeddedKafkaCluster.Start(1);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(200));
        cluster.CreateTopic("audit.orders", 3, replicationFactor: 1);
        cluster.CreateTopic("billing", 3, replicationFactor: 1);
        return cluster;
    }
}
