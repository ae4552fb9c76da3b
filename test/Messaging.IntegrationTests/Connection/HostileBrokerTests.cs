using System.Buffers.Binary;
using System.Diagnostics;
using Messaging.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Connection;

/// <summary>
/// Runs alone: the tests measure process-wide allocation (the read loop runs on pool threads, so per-thread counts
/// miss it) and count process-wide connection metrics, which other tests running meanwhile would disturb.
/// </summary>
[CollectionDefinition(nameof(HostileBrokerCollection), DisableParallelization = true)]
public sealed class HostileBrokerCollection;

/// <summary>
/// A connection against a broker that breaks the protocol after a proper handshake. In every case the affected
/// requests fail once each with a typed error naming the broker, the connection closes (and says so), nothing waits
/// past the request timeout, memory stays bounded, and a new connection to the same broker works.
/// </summary>
[Collection(nameof(HostileBrokerCollection))]
public sealed class HostileBrokerTests
{
    private const int OneMegabyte = 1024 * 1024;

    /// <summary>The request timeout where the bad bytes, not the timeout, must end the request…</summary>
    private static readonly TimeSpan GenerousRequestTimeout = TimeSpan.FromSeconds(5);

    /// <summary>…which they must do well within it: a loopback round trip plus a loaded machine's scheduling.</summary>
    private static readonly TimeSpan FailsWithin = TimeSpan.FromMilliseconds(2000);

    /// <summary>The request timeout where the broker never answers.</summary>
    private static readonly TimeSpan SilentRequestTimeout = TimeSpan.FromMilliseconds(500);

    [Fact(Timeout = 20_000)]
    public async Task A_2GB_size_prefix_fails_the_request_closes_the_connection_and_allocates_under_1MB()
    {
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.SizePrefix, SizePrefix = 0x7FFFFFF0 }, TestContext.Current.CancellationToken);

        var error = exchange.AssertEveryRequestLostTheConnection<KafkaProtocolException>();
        Assert.Contains("2147483632", error.InnerException!.Message, StringComparison.Ordinal);
        exchange.AssertFailedFast();
        exchange.AssertAllocatedLessThan(OneMegabyte);
        Assert.True(await exchange.HostileConnectionEndedAsync(TestContext.Current.CancellationToken), "the client closed the socket instead of waiting for 2 GB");
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(-1)]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    public async Task A_negative_size_prefix_fails_the_request_and_closes_the_connection(int size)
    {
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.SizePrefix, SizePrefix = size }, TestContext.Current.CancellationToken);

        var error = exchange.AssertEveryRequestLostTheConnection<KafkaProtocolException>();
        Assert.Contains(size.ToString(System.Globalization.CultureInfo.InvariantCulture), error.InnerException!.Message, StringComparison.Ordinal);
        exchange.AssertFailedFast();
        exchange.AssertAllocatedLessThan(OneMegabyte);
        Assert.True(await exchange.HostileConnectionEndedAsync(TestContext.Current.CancellationToken));
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_size_prefix_below_4_fails_the_request_and_closes_the_connection(int size)
    {
        // The broker sends the bytes it promised, so a client that accepted the size would go on to read a frame too
        // short to hold a correlation id.
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.SizePrefix, SizePrefix = size }, TestContext.Current.CancellationToken);

        var error = exchange.AssertEveryRequestLostTheConnection<KafkaProtocolException>();
        Assert.Contains("size prefix of " + size.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes", error.InnerException!.Message, StringComparison.Ordinal);
        exchange.AssertFailedFast();
        exchange.AssertAllocatedLessThan(OneMegabyte);
        Assert.True(await exchange.HostileConnectionEndedAsync(TestContext.Current.CancellationToken));
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_size_prefix_one_byte_over_MaxResponseBytes_allocates_nothing_for_it()
    {
        // The 2 GB prefix cannot be allocated even if the check were gone (it is above Array.MaxLength); this one could:
        // a client that rented it would allocate a 2 MiB array, so the bound below can see a missing check.
        await using var exchange = await HostileExchange.RunAsync(
            new HostileBrokerOptions { Behavior = HostileBehavior.SizePrefix, SizePrefix = OneMegabyte + 1 },
            o => o.MaxResponseBytes = OneMegabyte,
            1,
            GenerousRequestTimeout,
            TestContext.Current.CancellationToken);

        var error = exchange.AssertEveryRequestLostTheConnection<KafkaProtocolException>();
        Assert.Contains("the maximum is 1048576", error.InnerException!.Message, StringComparison.Ordinal);
        exchange.AssertFailedFast();
        exchange.AssertAllocatedLessThan(OneMegabyte);
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_truncated_frame_fails_the_request_and_closes_the_connection()
    {
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.TruncatedFrame }, TestContext.Current.CancellationToken);

        var error = exchange.AssertEveryRequestLostTheConnection<IOException>();
        Assert.Contains("closed the connection", error.Message, StringComparison.Ordinal);
        exchange.AssertFailedFast();
        exchange.AssertAllocatedLessThan(OneMegabyte);
        Assert.False(await exchange.HostileConnectionEndedAsync(TestContext.Current.CancellationToken)); // the broker hung up, mid-frame
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_response_with_an_unknown_correlation_id_fails_the_request_and_closes_the_connection()
    {
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.UnknownCorrelationId }, TestContext.Current.CancellationToken);

        var error = exchange.AssertEveryRequestLostTheConnection<KafkaProtocolException>();
        var protocol = (KafkaProtocolException)error.InnerException!;
        Assert.Equal("CorrelationId", protocol.FieldName);
        Assert.Contains("correlation id " + (exchange.FirstCorrelationId + 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture), protocol.Message, StringComparison.Ordinal);
        exchange.AssertFailedFast();
        exchange.AssertAllocatedLessThan(OneMegabyte);
        Assert.True(await exchange.HostileConnectionEndedAsync(TestContext.Current.CancellationToken));
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(1)] // the first four bytes read as 1188071042: over the limit
    [InlineData(3)] // -1655306839: negative
    [InlineData(23)] // 60358441: under the 100 MiB limit, so the client waits for a frame the broker never finishes
    public async Task Random_bytes_fail_the_request_and_close_the_connection(int seed)
    {
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.RandomBytes, RandomSeed = seed, RandomByteCount = 4096 }, TestContext.Current.CancellationToken);

        var claimed = BinaryPrimitives.ReadInt32BigEndian(exchange.Broker.RandomBytes);
        var withinLimit = claimed >= 4 && claimed <= exchange.Settings.MaxResponseBytes;
        var error = withinLimit
            ? exchange.AssertEveryRequestLostTheConnection<IOException>()
            : exchange.AssertEveryRequestLostTheConnection<KafkaProtocolException>();
        Assert.Contains(exchange.Connection.Name, error.Message, StringComparison.Ordinal);
        exchange.AssertFailedFast();

        // A size the limit admits is rented up front (bounded by MaxResponseBytes, rounded up to the pool's bucket).
        exchange.AssertAllocatedLessThan(OneMegabyte + (withinLimit ? 2L * claimed : 0));
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_silent_broker_fails_the_request_with_a_timeout_within_the_request_timeout_and_the_connection_closes()
    {
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.Silent }, null, 1, SilentRequestTimeout, TestContext.Current.CancellationToken);

        var timeout = Assert.IsType<KafkaTimeoutException>(exchange.SingleError(0));
        Assert.Equal(ApiKey.Metadata, timeout.ApiKey);
        Assert.Equal(exchange.Connection.Name, timeout.Broker);
        Assert.Contains(exchange.Connection.Name, timeout.Message, StringComparison.Ordinal);
        Assert.True(timeout.IsRetriable);
        Assert.InRange(timeout.Elapsed, SilentRequestTimeout, SilentRequestTimeout + FailsWithin);
        Assert.InRange(exchange.Elapsed, SilentRequestTimeout, SilentRequestTimeout + FailsWithin);
        exchange.AssertClosedWith(timeout);
        exchange.AssertAllocatedLessThan(OneMegabyte);
        Assert.True(await exchange.HostileConnectionEndedAsync(TestContext.Current.CancellationToken), "the client closed the socket after the timeout");
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(HostileBehavior.SizePrefix, 0)]
    [InlineData(HostileBehavior.SizePrefix, 3)]
    [InlineData(HostileBehavior.UnknownCorrelationId, 0)]
    [InlineData(HostileBehavior.UnknownCorrelationId, 2)]
    [InlineData(HostileBehavior.TruncatedFrame, 1)]
    [InlineData(HostileBehavior.RandomBytes, 0)]
    [InlineData(HostileBehavior.Silent, 0)]
    [InlineData(HostileBehavior.Silent, 4)]
    public async Task Pipelined_requests_behind_a_hostile_response_all_fail_each_exactly_once(HostileBehavior behavior, int answeredFirst)
    {
        const int Depth = 8;
        var silent = behavior == HostileBehavior.Silent;
        await using var exchange = await HostileExchange.RunAsync(
            new HostileBrokerOptions { Behavior = behavior, RequestsBeforeMisbehaving = Depth, RequestsAnsweredFirst = answeredFirst },
            null,
            Depth,
            silent ? SilentRequestTimeout : GenerousRequestTimeout,
            TestContext.Current.CancellationToken);

        for (var i = 0; i < answeredFirst; i++)
        {
            Assert.True(exchange.Calls[i].IsCompletedSuccessfully, "request " + i + " was answered before the misbehaviour");
            Assert.Equal("hostile", (await exchange.Calls[i]).ClusterId);
        }

        if (silent)
        {
            // The oldest unanswered request times out; the others fail because its timeout closed the connection.
            var timeout = Assert.IsType<KafkaTimeoutException>(exchange.SingleError(answeredFirst));
            Assert.Contains(exchange.Connection.Name, timeout.Message, StringComparison.Ordinal);
            Assert.Contains((Depth - answeredFirst - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) + " other request(s) were pending", timeout.Message, StringComparison.Ordinal);
            for (var i = answeredFirst + 1; i < Depth; i++)
            {
                var error = Assert.IsType<KafkaConnectionException>(exchange.SingleError(i));
                Assert.Equal(exchange.Connection.Name, error.Broker);
                Assert.Contains(exchange.Connection.Name, error.Message, StringComparison.Ordinal);
                Assert.Same(timeout, error.InnerException);
            }

            Assert.InRange(exchange.Elapsed, SilentRequestTimeout, SilentRequestTimeout + FailsWithin);
            exchange.AssertClosedWith(timeout);
        }
        else
        {
            // The default random seed's first four bytes read as a size over the limit.
            var error = behavior == HostileBehavior.TruncatedFrame
                ? exchange.AssertEveryRequestLostTheConnection<IOException>(firstFailing: answeredFirst)
                : exchange.AssertEveryRequestLostTheConnection<KafkaProtocolException>(firstFailing: answeredFirst);
            Assert.Contains(exchange.Connection.Name, error.Message, StringComparison.Ordinal);
            exchange.AssertFailedFast();
        }

        // Each request left the FIFO once — answered or failed, never both, never twice — and the connection closed once.
        Assert.Equal(Depth, exchange.RequestsEntered);
        Assert.Equal(Depth, exchange.RequestsLeft);
        Assert.Equal(1, exchange.ConnectionsClosed);
        Assert.Equal(0, exchange.Connection.PendingCount);
        exchange.AssertAllocatedLessThan(OneMegabyte);
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Theory(Timeout = 20_000)]
    [InlineData(HostileBehavior.SizePrefix)]
    [InlineData(HostileBehavior.UnknownCorrelationId)]
    [InlineData(HostileBehavior.TruncatedFrame)]
    public async Task Hostility_during_the_handshake_fails_ConnectAsync_promptly_with_a_connection_error(HostileBehavior behavior)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(new HostileBrokerOptions { Behavior = behavior, MisbehaveOnHandshake = true });
        var settings = HostileExchange.SettingsFor(broker, GenerousRequestTimeout);

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<KafkaConnectionException>(async () => await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct));
        Assert.True(clock.Elapsed < FailsWithin, "failed in " + clock.ElapsedMilliseconds + " ms");
        Assert.Equal(broker.Endpoint.DisplayName, error.Broker);
        Assert.Contains(broker.Endpoint.DisplayName, error.Message, StringComparison.Ordinal);
        Assert.True(error.IsRetriable);

        await using var fresh = await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct);
        Assert.Equal(4, fresh.HandshakeVersion);
        var response = await fresh.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct);
        Assert.Equal("hostile", response.ClusterId);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_silent_broker_during_the_handshake_fails_ConnectAsync_within_the_setup_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(new HostileBrokerOptions { Behavior = HostileBehavior.Silent, MisbehaveOnHandshake = true });
        var setupTimeout = TimeSpan.FromMilliseconds(500);
        var settings = HostileExchange.SettingsFor(broker, GenerousRequestTimeout, o => o.SocketConnectionSetupTimeout = setupTimeout);

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<KafkaConnectionException>(async () => await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct));
        // The setup timeout is a CancelAfter timer, whose coarse clock may fire a millisecond or so early by the Stopwatch.
        Assert.InRange(clock.Elapsed, setupTimeout - TimeSpan.FromMilliseconds(50), setupTimeout + FailsWithin);
        Assert.Contains(broker.Endpoint.DisplayName, error.Message, StringComparison.Ordinal);
        Assert.True(await broker.HostileConnectionEnded.WaitAsync(TimeSpan.FromSeconds(5), ct), "the client closed the socket it gave up on");
    }

    [Fact(Timeout = 10_000)]
    public async Task A_frame_that_stalls_halfway_fails_the_request_with_a_timeout_and_the_connection_closes()
    {
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.StalledFrame }, null, 1, SilentRequestTimeout, TestContext.Current.CancellationToken);

        var timeout = Assert.IsType<KafkaTimeoutException>(exchange.SingleError(0));
        Assert.Equal(exchange.Connection.Name, timeout.Broker);
        Assert.InRange(exchange.Elapsed, SilentRequestTimeout, SilentRequestTimeout + FailsWithin);
        exchange.AssertClosedWith(timeout);
        exchange.AssertAllocatedLessThan(OneMegabyte);
        Assert.True(await exchange.HostileConnectionEndedAsync(TestContext.Current.CancellationToken), "the client closed the socket it was reading the frame from");
        await exchange.AssertANewConnectionWorksAsync(TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_well_framed_response_with_a_garbage_body_fails_retriably_naming_the_broker_and_api_and_closes_the_connection()
    {
        // The frame boundary is intact, but the body is not what the version promises: the broker (or our view of it)
        // is broken, so the connection closes and the request fails with a retriable KafkaConnectionException that
        // names the broker, API and version and carries the decoder's KafkaProtocolException. A new connection works.
        var ct = TestContext.Current.CancellationToken;
        await using var exchange = await HostileExchange.RunAsync(new HostileBrokerOptions { Behavior = HostileBehavior.RandomBody, RandomSeed = 7, RandomByteCount = 2048 }, ct);

        var error = Assert.IsType<KafkaConnectionException>(exchange.SingleError(0));
        Assert.True(error.IsRetriable);
        Assert.IsType<KafkaProtocolException>(error.InnerException);
        Assert.Contains(exchange.Connection.Name, error.Message, StringComparison.Ordinal);
        Assert.Contains("Metadata v", error.Message, StringComparison.Ordinal);
        await exchange.Connection.Closed.WaitAsync(TimeSpan.FromSeconds(2), ct);
        Assert.False(exchange.Connection.IsOpen);

        await using var fresh = await BrokerConnection.ConnectAsync(exchange.Broker.Endpoint, exchange.Settings, ct);
        var next = await fresh.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct);
        Assert.Equal("hostile", next.ClusterId);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_deaf_broker_fails_a_request_stuck_in_its_write_within_the_request_timeout_and_the_request_behind_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(HostileBehavior.Deaf);
        var settings = HostileExchange.SettingsFor(broker, SilentRequestTimeout, o => o.SocketSendBufferBytes = 4096);
        await using var connection = await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct);
        await broker.Misbehaved.WaitAsync(TimeSpan.FromSeconds(5), ct);

        var clock = Stopwatch.StartNew();
        var stuck = connection.SendAsync<MetadataRequest, MetadataResponse>(LargeMetadataRequest(), ct).AsTask();
        var behind = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        await WhenAllSettledAsync(SilentRequestTimeout + FailsWithin + FailsWithin, ct, stuck, behind);

        Assert.True(stuck.IsCompleted, "the request whose write blocked completed within " + clock.ElapsedMilliseconds + " ms");
        Assert.True(behind.IsCompleted, "the request waiting to write completed within " + clock.ElapsedMilliseconds + " ms");
        var timeout = Assert.IsType<KafkaTimeoutException>(Assert.Single(stuck.Exception!.InnerExceptions));
        Assert.Equal(connection.Name, timeout.Broker);
        var error = Assert.IsType<KafkaConnectionException>(Assert.Single(behind.Exception!.InnerExceptions));
        Assert.Contains(connection.Name, error.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, SilentRequestTimeout, SilentRequestTimeout + FailsWithin);
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(2), ct);
        Assert.False(connection.IsOpen);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_caller_that_cancels_while_its_write_is_blocked_gets_OperationCanceled_promptly()
    {
        // Bug: SendEncodedAsync registers the caller's token only after WriteAllAsync returns, and the socket write
        // takes no token, so a caller whose write is blocked waits for the request timeout, not for its token.
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(HostileBehavior.Deaf);
        var settings = HostileExchange.SettingsFor(broker, GenerousRequestTimeout, o => o.SocketSendBufferBytes = 4096);
        await using var connection = await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct);
        await broker.Misbehaved.WaitAsync(TimeSpan.FromSeconds(5), ct);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clock = Stopwatch.StartNew();
        var stuck = connection.SendAsync<MetadataRequest, MetadataResponse>(LargeMetadataRequest(), cancel.Token).AsTask();
        await Task.Delay(200, ct);
        Assert.False(stuck.IsCompleted, "the write is blocked (the broker reads nothing)");
        await cancel.CancelAsync();
        await WhenAllSettledAsync(FailsWithin, ct, stuck);

        Assert.True(stuck.IsCompleted, "cancelled after 200 ms, still waiting " + clock.ElapsedMilliseconds + " ms later (request timeout " + GenerousRequestTimeout.TotalMilliseconds + " ms)");
        // A Task faulted by cancellation is Canceled, with no Exception to inspect.
        Assert.True(stuck.IsCanceled, "the caller's await ended by its cancellation");
    }

    [Fact(Timeout = 20_000)]
    public async Task A_request_without_response_stuck_in_its_write_fails_within_the_request_timeout_and_so_does_the_request_behind_it()
    {
        // Bug: SendWithoutResponseAsync (Produce acks=0) never enters the FIFO, so no deadline covers its write; a
        // deaf broker blocks it forever, and every request behind it waits on the write lock forever too (they are
        // not in the FIFO yet either, so the timeout sweep sees nothing overdue).
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(HostileBehavior.Deaf);
        var settings = HostileExchange.SettingsFor(broker, SilentRequestTimeout, o => o.SocketSendBufferBytes = 4096);
        await using var connection = await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct);
        await broker.Misbehaved.WaitAsync(TimeSpan.FromSeconds(5), ct);

        var clock = Stopwatch.StartNew();
        var stuck = connection.SendWithoutResponseAsync(LargeMetadataRequest(), connection.ApiVersions.VersionFor(ApiKey.Metadata), cancellationToken: ct).AsTask();
        var behind = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        await WhenAllSettledAsync(SilentRequestTimeout + FailsWithin + FailsWithin, ct, stuck, behind);
        var elapsed = clock.ElapsedMilliseconds;
        var stuckCompleted = stuck.IsCompleted;
        var behindCompleted = behind.IsCompleted;
        if (!stuckCompleted || !behindCompleted)
        {
            // Show what disposal (the only way out today) hands the stuck callers.
            await connection.DisposeAsync();
            await WhenAllSettledAsync(FailsWithin, ct, stuck, behind);
            TestContext.Current.TestOutputHelper?.WriteLine("after disposal: request without response " + stuck.Status + " " + stuck.Exception?.InnerException?.GetType().Name
                + " (" + stuck.Exception?.InnerException?.Message + "); request behind it " + behind.Status + " " + behind.Exception?.InnerException?.GetType().Name);
        }

        Assert.True(stuckCompleted, "the request without response completed within " + elapsed + " ms (request timeout " + SilentRequestTimeout.TotalMilliseconds + " ms)");
        Assert.True(behindCompleted, "the request behind it completed within " + elapsed + " ms (request timeout " + SilentRequestTimeout.TotalMilliseconds + " ms)");
        Assert.IsType<KafkaException>(Assert.Single(stuck.Exception!.InnerExceptions), exactMatch: false);
        Assert.IsType<KafkaException>(Assert.Single(behind.Exception!.InnerExceptions), exactMatch: false);
        Assert.False(connection.IsOpen);
    }

    /// <summary>A Metadata request of about 2.5 MB: far more than a small send buffer and a deaf broker's window hold.</summary>
    private static MetadataRequest LargeMetadataRequest()
    {
        var topics = new MetadataRequest.MetadataRequestTopic[20_000];
        var name = new string('t', 100);
        for (var i = 0; i < topics.Length; i++)
        {
            topics[i] = new MetadataRequest.MetadataRequestTopic { Name = name };
        }

        return new MetadataRequest { Topics = topics, AllowAutoTopicCreation = false };
    }

    /// <summary>Waits until every task completed or <paramref name="limit"/> passed, whichever is first; throws nothing.</summary>
    private static async Task WhenAllSettledAsync(TimeSpan limit, CancellationToken ct, params Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(limit, ct);
        }
        catch (Exception)
        {
            // The callers assert on each task.
        }
    }

    /// <summary>One connection's hostile exchange: what the requests got, how long it took, what it allocated.</summary>
    private sealed class HostileExchange : IAsyncDisposable
    {
        private HostileExchange(HostileBroker broker, ConnectionSettings settings, BrokerConnection connection)
        {
            Broker = broker;
            Settings = settings;
            Connection = connection;
        }

        public HostileBroker Broker { get; }

        public ConnectionSettings Settings { get; }

        public BrokerConnection Connection { get; }

        public Task<MetadataResponse>[] Calls { get; private set; } = [];

        public TimeSpan Elapsed { get; private set; }

        public long Allocated { get; private set; }

        public int RequestsEntered { get; private set; }

        public int RequestsLeft { get; private set; }

        public int ConnectionsClosed { get; private set; }

        /// <summary>The correlation id of the first request after the handshake (the client numbers them 1, 2, 3...).</summary>
        public int FirstCorrelationId => Connection.HandshakeVersion == 4 ? 2 : throw new InvalidOperationException("the handshake took more than one attempt");

        public static ConnectionSettings SettingsFor(HostileBroker broker, TimeSpan requestTimeout, Action<KafkaClientOptions>? configure = null) =>
            BrokerConnectionTests.Settings(broker.BootstrapServers, o =>
            {
                o.RequestTimeout = requestTimeout;
                o.SocketConnectionSetupTimeout = TimeSpan.FromSeconds(5);
                o.MaxInFlightRequestsPerConnection = 16;
                configure?.Invoke(o);
            });

        public static Task<HostileExchange> RunAsync(HostileBrokerOptions options, CancellationToken ct) =>
            RunAsync(options, null, 1, GenerousRequestTimeout, ct);

        /// <summary>Connects (the handshake goes well), then sends <paramref name="requests"/> pipelined Metadata requests and waits for all of them and for the connection to close.</summary>
        public static async Task<HostileExchange> RunAsync(
            HostileBrokerOptions options, Action<KafkaClientOptions>? configure, int requests, TimeSpan requestTimeout, CancellationToken ct)
        {
            var broker = HostileBroker.Start(options);
            var settings = SettingsFor(broker, requestTimeout, configure);
            BrokerConnection connection;
            try
            {
                connection = await BrokerConnection.ConnectAsync(broker.Endpoint, settings, ct);
            }
            catch
            {
                await broker.DisposeAsync();
                throw;
            }

            var exchange = new HostileExchange(broker, settings, connection);
            Assert.Equal(4, connection.HandshakeVersion);
            Assert.Equal(12, connection.ApiVersions.VersionFor(ApiKey.Metadata));

            var request = new MetadataRequest { Topics = [] };
            using var probe = new ConnectionMetricsProbe();
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            var calls = new Task<MetadataResponse>[requests];
            for (var i = 0; i < requests; i++)
            {
                calls[i] = connection.SendAsync<MetadataRequest, MetadataResponse>(request, ct).AsTask();
            }

            try
            {
                await Task.WhenAll(calls);
            }
            catch (Exception)
            {
                // Each call's outcome is asserted by the test.
            }

            exchange.Elapsed = clock.Elapsed;
            if (options.Behavior != HostileBehavior.RandomBody)
            {
                await connection.Closed.WaitAsync(TimeSpan.FromSeconds(5), ct);
            }

            exchange.Allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            exchange.Calls = calls;
            exchange.RequestsEntered = probe.RequestsEntered;
            exchange.RequestsLeft = probe.RequestsLeft;
            exchange.ConnectionsClosed = probe.ConnectionsClosed;
            TestContext.Current.TestOutputHelper?.WriteLine(
                options.Behavior + ": " + requests + " request(s) done in " + exchange.Elapsed.TotalMilliseconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)
                + " ms, " + exchange.Allocated + " bytes allocated meanwhile; failure: " + connection.Failure?.Message);
            return exchange;
        }

        /// <summary>The one exception request <paramref name="index"/> failed with.</summary>
        public Exception SingleError(int index)
        {
            var call = Calls[index];
            Assert.True(call.IsFaulted, "request " + index + " failed (status " + call.Status + ")");
            return Assert.Single(call.Exception!.InnerExceptions);
        }

        /// <summary>
        /// Every request from <paramref name="firstFailing"/> on failed with exactly <see cref="KafkaConnectionException"/>
        /// naming the broker, caused by the connection's failure, which is a <typeparamref name="TCause"/>; the connection is closed.
        /// </summary>
        public KafkaConnectionException AssertEveryRequestLostTheConnection<TCause>(int firstFailing = 0)
            where TCause : Exception
        {
            KafkaConnectionException? first = null;
            for (var i = firstFailing; i < Calls.Length; i++)
            {
                var error = Assert.IsType<KafkaConnectionException>(SingleError(i));
                Assert.Equal(Connection.Name, error.Broker);
                Assert.Contains(Connection.Name, error.Message, StringComparison.Ordinal);
                Assert.True(error.IsRetriable);
                Assert.Same(Connection.Failure, error.InnerException);
                first ??= error;
            }

            Assert.NotNull(first);
            Assert.IsType<TCause>(first.InnerException);

            AssertClosedWith(Connection.Failure!);
            return first;
        }

        public void AssertClosedWith(Exception failure)
        {
            Assert.False(Connection.IsOpen);
            Assert.True(Connection.Closed.IsCompleted);
            Assert.Same(failure, Connection.Failure);
            Assert.Equal(0, Connection.PendingCount);

            // A closed connection refuses new work at once, saying why.
            var refused = Connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, TestContext.Current.CancellationToken).AsTask();
            Assert.True(refused.IsFaulted);
            Assert.IsType<KafkaConnectionException>(refused.Exception!.InnerException);
        }

        /// <summary>The bad bytes ended the request, not the request timeout.</summary>
        public void AssertFailedFast() =>
            Assert.True(Elapsed < FailsWithin, "the request failed " + Elapsed.TotalMilliseconds + " ms after it was sent (request timeout " + Settings.RequestTimeout.TotalMilliseconds + " ms)");

        public void AssertAllocatedLessThan(long bytes) =>
            Assert.True(Allocated < bytes, Allocated + " bytes were allocated during the exchange; the bound is " + bytes);

        /// <summary>How the hostile connection ended, as the broker saw it: true if the client closed it (waits at most 5 s).</summary>
        public Task<bool> HostileConnectionEndedAsync(CancellationToken ct) => Broker.HostileConnectionEnded.WaitAsync(TimeSpan.FromSeconds(5), ct);

        /// <summary>The broker now behaves: a new connection handshakes and answers.</summary>
        public async Task AssertANewConnectionWorksAsync(CancellationToken ct)
        {
            await using var fresh = await BrokerConnection.ConnectAsync(Broker.Endpoint, Settings, ct);
            var response = await fresh.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct);
            Assert.Equal("hostile", response.ClusterId);
            Assert.Equal(Broker.Port, Assert.Single(response.Brokers).Port);
            Assert.True(fresh.IsOpen);
            Assert.Equal(2, Broker.ConnectionsAccepted);
        }

        public async ValueTask DisposeAsync()
        {
            await Connection.DisposeAsync();
            await Broker.DisposeAsync();
        }
    }
}
