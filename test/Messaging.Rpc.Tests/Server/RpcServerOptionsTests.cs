namespace Messaging.Rpc.Tests.Server;

/// <summary>The server's options: nested settings inherit the server's connection and are checked under their path.</summary>
public sealed class RpcServerOptionsTests
{
    [Fact]
    public void The_request_consumer_waits_as_a_production_consumer_does_and_a_new_group_starts_at_the_earliest_request()
    {
        var options = new RpcServerOptions();
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Consumer.FetchMaxWait);
        Assert.Equal(AutoOffsetReset.Earliest, options.Consumer.AutoOffsetReset);
    }

    private static RpcServerOptions Valid() => new() { BootstrapServers = "localhost:9092", ClientId = "orders-server", RequestTopics = ["orders"], GroupId = "orders" };

    [Theory]
    [InlineData("Producer.Linger")]
    [InlineData("Consumer.FetchMaxWait")]
    [InlineData("Pools.BlockSize")]
    [InlineData("MaxConcurrentRequests")]
    public void A_bad_setting_is_refused_when_the_server_is_built_and_named_by_its_path(string setting)
    {
        var options = Valid();
        switch (setting)
        {
            case "Producer.Linger": options.Producer.Linger = TimeSpan.FromMilliseconds(-1); break;
            case "Consumer.FetchMaxWait": options.Consumer.FetchMaxWait = TimeSpan.FromMilliseconds(-1); break;
            case "Pools.BlockSize": options.Pools.BlockSize = 10; break;
            case "MaxConcurrentRequests": options.MaxConcurrentRequests = 0; break;
        }

        var error = Assert.ThrowsAny<ArgumentException>(() => new RpcServer(options));
        Assert.Equal(setting, error.ParamName);
    }

    [Fact]
    public void Reply_cache_bounds_changed_after_the_server_was_built_do_not_reach_it()
    {
        var options = Valid();
        options.ReplyCache = new RpcReplyCacheOptions { Enabled = true, MaxEntries = 100, MaxBytes = 1000, MaxAge = TimeSpan.FromMinutes(1) };
        var resolved = options.Copy();

        // The same options object set up for the next server: the cache reads its bounds on every reply it keeps.
        options.ReplyCache.MaxEntries = 1;
        options.ReplyCache.MaxBytes = 0;
        options.ReplyCache.MaxAge = TimeSpan.FromTicks(1);

        Assert.True(resolved.ReplyCache.Enabled);
        Assert.Equal(100, resolved.ReplyCache.MaxEntries);
        Assert.Equal(1000, resolved.ReplyCache.MaxBytes);
        Assert.Equal(TimeSpan.FromMinutes(1), resolved.ReplyCache.MaxAge);
    }

    [Fact]
    public void Nested_clients_inherit_the_servers_cluster_and_client_id_and_the_consumer_its_group()
    {
        var resolved = Valid().Copy();

        Assert.Equal("localhost:9092", resolved.Producer.BootstrapServers);
        Assert.Equal("localhost:9092", resolved.Consumer.BootstrapServers);
        Assert.Equal("orders-server", resolved.Producer.ClientId);
        Assert.Equal("orders-server", resolved.Consumer.ClientId);
        Assert.Equal("orders", resolved.Consumer.GroupId);
        Assert.False(resolved.Consumer.EnableAutoCommit);
    }

    [Fact]
    public void Nested_clients_log_through_the_servers_logger_factory_unless_they_have_their_own()
    {
        var options = Valid();
        using var loggers = new DistinctLoggers();
        using var own = new DistinctLoggers();
        options.LoggerFactory = loggers;
        options.Admin.LoggerFactory = own;

        var resolved = options.Copy();

        Assert.Same(loggers, resolved.Producer.LoggerFactory);
        Assert.Same(loggers, resolved.Consumer.LoggerFactory);
        Assert.Same(own, resolved.Admin.LoggerFactory);
    }

    [Fact]
    public async Task Building_a_server_leaves_the_callers_options_as_they_were_so_the_same_object_changed_builds_the_next_one_as_set()
    {
        var options = Valid();
        var consumer = options.Consumer;
        consumer.EnableAutoCommit = true;
        await using (new RpcServer(options))
        {
        }

        // The caller's nested consumer (shared with a plain consumer of its own, say) keeps its group and commits.
        Assert.Same(consumer, options.Consumer);
        Assert.Equal("", options.Consumer.BootstrapServers);
        Assert.Null(options.Consumer.GroupId);
        Assert.True(options.Consumer.EnableAutoCommit);

        options.BootstrapServers = "other:9092";
        options.GroupId = "billing";
        var next = options.Copy();
        Assert.Equal("other:9092", next.Producer.BootstrapServers);
        Assert.Equal("other:9092", next.Consumer.BootstrapServers);
        Assert.Equal("billing", next.Consumer.GroupId);
    }

    [Fact]
    public void Security_set_on_the_server_reaches_nested_clients_left_plaintext_and_not_one_with_its_own()
    {
        var options = Valid();
        options.SecurityProtocol = SecurityProtocol.SaslSsl;
        options.Sasl = new SaslOptions { Mechanism = SaslMechanism.ScramSha512, Username = "svc", Password = "secret" };
        options.Consumer.SecurityProtocol = SecurityProtocol.Ssl; // its own choice stays

        options.Validate();
        var resolved = options.Copy();

        Assert.Equal(SecurityProtocol.SaslSsl, resolved.Producer.SecurityProtocol);
        Assert.Same(options.Sasl, resolved.Producer.Sasl);
        Assert.Same(options.Ssl, resolved.Producer.Ssl);
        Assert.Equal(SecurityProtocol.Ssl, resolved.Consumer.SecurityProtocol);
        Assert.NotSame(options.Sasl, resolved.Consumer.Sasl);
        Assert.Equal(SecurityProtocol.Plaintext, options.Producer.SecurityProtocol); // the caller's object is not changed
    }

    /// <summary>A logger factory told apart from others by reference only.</summary>
    [Theory]
    [InlineData("orders!")]
    [InlineData("orders v2")]
    [InlineData("commandes-é")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(250)]
    public void A_request_topic_name_kafka_refuses_is_refused_when_the_server_is_built(object name)
    {
        var topic = name as string ?? new string('o', (int)name);
        var options = new RpcServerOptions { BootstrapServers = "localhost:9092", RequestTopics = ["orders", topic], GroupId = "orders" };

        var error = Assert.ThrowsAny<ArgumentException>(() => new RpcServer(options));

        Assert.Equal(nameof(RpcServerOptions.RequestTopics), error.ParamName);
        Assert.Contains(topic, error.Message, StringComparison.Ordinal);
    }

    private sealed class DistinctLoggers : Microsoft.Extensions.Logging.ILoggerFactory
    {
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }
}
