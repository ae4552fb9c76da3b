using Messaging.Connection;
using Messaging.Protocol.Messages;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Connection;

/// <summary>One connection against a real Kafka-protocol broker: handshake, requests, pipelining, cancellation, disposal.</summary>
public sealed class BrokerConnectionTests(TestBrokerFixture fixture)
{
    internal static ConnectionSettings Settings(string bootstrap, Action<KafkaClientOptions>? configure = null)
    {
        var options = new KafkaClientOptions { BootstrapServers = bootstrap, ClientId = "connection-tests" };
        configure?.Invoke(options);
        return new ConnectionSettings(options);
    }

    internal static BrokerEndpoint First(string bootstrap) => BrokerEndpoint.ParseList(bootstrap)[0];

    [Fact(Timeout = 30_000)]
    public async Task Handshake_negotiates_versions_and_requests_round_trip()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("conn");
        await broker.CreateTopicAsync(topic, 4, 3, ct);

        await using var connection = await BrokerConnection.ConnectAsync(First(broker.BootstrapServers), Settings(broker.BootstrapServers), ct);
        if (broker.Kind == TestBrokerKind.Embedded)
        {
            Assert.Equal(2, connection.HandshakeVersion); // the mock speaks ApiVersions v0-v2: v4 was refused, v2 retried
        }

        Assert.InRange(connection.ApiVersions.VersionFor(ApiKey.Metadata), MetadataRequest.MinVersion, MetadataRequest.MaxVersion);

        var metadata = await connection.SendAsync<MetadataRequest, MetadataResponse>(
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = topic }], AllowAutoTopicCreation = false }, ct);
        Assert.Equal(broker.BrokerCount, metadata.Brokers.Length);
        var described = Assert.Single(metadata.Topics);
        Assert.Equal(ErrorCode.None, described.ErrorCode);
        Assert.Equal(topic, described.Name);
        Assert.Equal(4, described.Partitions.Length);
        Assert.All(described.Partitions, p => Assert.InRange(p.LeaderId, 1, broker.BrokerCount > 1 ? broker.BrokerCount : int.MaxValue));
    }

    [Fact(Timeout = 30_000)]
    public async Task Pipelined_requests_all_complete_with_their_own_responses()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topics = new string[40];
        for (var i = 0; i < topics.Length; i++)
        {
            topics[i] = TestBrokerFixture.UniqueTopicName("pipe" + i);
            await broker.CreateTopicAsync(topics[i], 1 + (i % 5), 1, ct);
        }

        await using var connection = await BrokerConnection.ConnectAsync(First(broker.BootstrapServers), Settings(broker.BootstrapServers, o => o.MaxInFlightRequestsPerConnection = 8), ct);
        var calls = new Task<MetadataResponse>[topics.Length];
        for (var i = 0; i < topics.Length; i++)
        {
            calls[i] = connection.SendAsync<MetadataRequest, MetadataResponse>(
                new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = topics[i] }], AllowAutoTopicCreation = false }, ct).AsTask();
        }

        var responses = await Task.WhenAll(calls);
        for (var i = 0; i < topics.Length; i++)
        {
            var topic = Assert.Single(responses[i].Topics);
            Assert.Equal(topics[i], topic.Name); // each caller got the response to its own request
            Assert.Equal(1 + (i % 5), topic.Partitions.Length);
        }

        Assert.Equal(0, connection.PendingCount);
    }

    [Fact(Timeout = 30_000)]
    public async Task An_api_the_broker_lacks_fails_with_a_typed_error_naming_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct); // the embedded broker has no CreateTopics
        await using var connection = await BrokerConnection.ConnectAsync(First(broker.BootstrapServers), Settings(broker.BootstrapServers), ct);
        var error = await Assert.ThrowsAsync<UnsupportedApiVersionException>(async () =>
            await connection.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest(), ct));
        Assert.Equal(ApiKey.CreateTopics, error.ApiKey);
        Assert.Contains("CreateTopics", error.Message, StringComparison.Ordinal);
        Assert.True(connection.IsOpen); // asking is not a protocol error
    }

    [Fact(Timeout = 30_000)]
    public async Task Connecting_to_a_broker_too_old_for_our_versions_fails_naming_the_api_and_both_ranges()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        ((Messaging.Testing.EmbeddedKafkaCluster)broker.Faults!).SetApiVersionRange(ApiKey.Metadata, 0, 8); // a pre-2.4 broker

        var error = await Assert.ThrowsAsync<UnsupportedApiVersionException>(async () =>
            await BrokerConnection.ConnectAsync(First(broker.BootstrapServers), Settings(broker.BootstrapServers), ct));
        Assert.Equal(ApiKey.Metadata, error.ApiKey);
        Assert.Equal((short)8, error.BrokerMaxVersion);
        Assert.Equal(MetadataRequest.MinVersion, error.ClientMinVersion);
        Assert.Contains("Metadata", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_cancelled_caller_gets_OperationCanceled_and_its_late_response_goes_to_nobody()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        await using var connection = await BrokerConnection.ConnectAsync(First(broker.BootstrapServers), Settings(broker.BootstrapServers), ct);

        broker.Faults!.SetBrokerRoundTripDelay(1, TimeSpan.FromMilliseconds(300));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var cancelled = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, cancel.Token);
        var next = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, ct); // all topics

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);
        var response = await next; // the second caller gets the second response, not the first one's
        Assert.NotEmpty(response.Brokers);
        Assert.True(connection.IsOpen);
        Assert.Equal(0, connection.PendingCount);
        broker.Faults.SetBrokerRoundTripDelay(1, TimeSpan.Zero);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_response_later_than_the_request_timeout_fails_with_a_typed_timeout_and_closes_the_connection()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        await using var connection = await BrokerConnection.ConnectAsync(
            First(broker.BootstrapServers), Settings(broker.BootstrapServers, o => o.RequestTimeout = TimeSpan.FromMilliseconds(300)), ct);

        broker.Faults!.SetBrokerRoundTripDelay(1, TimeSpan.FromSeconds(2));
        var first = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct);
        var second = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct);

        var timeout = await Assert.ThrowsAsync<KafkaTimeoutException>(async () => await first);
        Assert.Equal(ApiKey.Metadata, timeout.ApiKey);
        Assert.Equal(connection.Name, timeout.Broker);
        Assert.True(timeout.Elapsed >= TimeSpan.FromMilliseconds(300));
        Assert.True(timeout.IsRetriable);

        var other = await Assert.ThrowsAsync<KafkaConnectionException>(async () => await second);
        Assert.True(other.IsRetriable);
        Assert.IsType<KafkaTimeoutException>(other.InnerException);
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.False(connection.IsOpen);
        broker.Faults.SetBrokerRoundTripDelay(1, TimeSpan.Zero);
    }

    [Fact(Timeout = 60_000)]
    public async Task Disposal_with_a_thousand_requests_in_flight_completes_every_one_promptly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        var connection = await BrokerConnection.ConnectAsync(First(broker.BootstrapServers), Settings(broker.BootstrapServers, o => o.MaxInFlightRequestsPerConnection = 64), ct);
        broker.Faults!.SetBrokerRoundTripDelay(1, TimeSpan.FromMilliseconds(200));

        var calls = new Task<MetadataResponse>[1000];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        }

        await Task.Delay(100, ct);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await connection.DisposeAsync();
        var all = Task.WhenAll(calls);
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5), ct));
        Assert.True(all.IsCompleted, "every request completes within 5 s of disposal");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));

        var failed = 0;
        foreach (var call in calls)
        {
            if (call.IsFaulted)
            {
                Assert.IsType<ObjectDisposedException>(call.Exception!.InnerException);
                failed++;
            }
            else
            {
                Assert.True(call.IsCompletedSuccessfully);
            }
        }

        Assert.True(failed > 900, $"{failed} of 1000 failed with ObjectDisposedException; the rest had been answered");
        Assert.Equal(0, connection.PendingCount);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest(), ct));
    }
}
