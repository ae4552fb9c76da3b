using Microsoft.Extensions.Configuration;

namespace Messaging.Rpc.Tests.Calls;

/// <summary>The client's settings bind from configuration, the pool settings and the header names included, and bad ones are refused.</summary>
public sealed class RpcClientOptionsTests
{
    [Fact]
    public void The_reply_consumer_waits_as_a_production_consumer_does_and_the_embedded_broker_suggests_a_short_wait()
    {
        // On Kafka a waiting fetch is answered as soon as a reply is written: the consumer's 500 ms costs no latency.
        Assert.Equal(new KafkaConsumerOptions().FetchMaxWait, new RpcClientOptions().Consumer.FetchMaxWait);
        Assert.Equal(TimeSpan.FromMilliseconds(500), new RpcClientOptions().Consumer.FetchMaxWait);
        Assert.Equal(TimeSpan.FromMilliseconds(10), Messaging.Testing.EmbeddedKafkaCluster.RecommendedFetchMaxWait);
    }

    [Fact]
    public void Settings_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Rpc:BootstrapServers"] = "broker:9092",
            ["Rpc:InstanceId"] = "pod-3",
            ["Rpc:ReplyMode"] = "SharedTopicAllPartitions",
            ["Rpc:ReplyTopic"] = "replies",
            ["Rpc:ReplyPartition"] = "4",
            ["Rpc:DefaultTimeout"] = "00:00:05",
            ["Rpc:MaxPendingCalls"] = "50",
            ["Rpc:MaxPendingRequestBytes"] = "1048576",
            ["Rpc:MaxRequestBytes"] = "65536",
            ["Rpc:Pools:BlockSize"] = "4096",
            ["Rpc:Pools:LargeBufferMultiple"] = "65536",
            ["Rpc:Pools:MaximumBufferSize"] = "1048576",
            ["Rpc:Pools:MaximumSmallPoolFreeBytes"] = "100000",
            ["Rpc:Pools:MaximumLargePoolFreeBytes"] = "200000",
            ["Rpc:Headers:Prefix"] = "x_",
            ["Rpc:Headers:Status"] = "grpc-status",
            ["Rpc:Producer:Linger"] = "00:00:00.002",
            ["Rpc:Consumer:FetchMaxWait"] = "00:00:00.050",
        }).Build();
        var options = new RpcClientOptions();

        configuration.GetSection("Rpc").Bind(options);

        Assert.Equal("broker:9092", options.BootstrapServers);
        Assert.Equal("pod-3", options.InstanceId);
        Assert.Equal(RpcReplyMode.SharedTopicAllPartitions, options.ReplyMode);
        Assert.Equal("replies", options.ReplyTopic);
        Assert.Equal(4, options.ReplyPartition);
        Assert.Equal(TimeSpan.FromSeconds(5), options.DefaultTimeout);
        Assert.Equal(50, options.MaxPendingCalls);
        Assert.Equal(1048576, options.MaxPendingRequestBytes);
        Assert.Equal(65536, options.MaxRequestBytes);
        Assert.Equal(4096, options.Pools.BlockSize);
        Assert.Equal(65536, options.Pools.LargeBufferMultiple);
        Assert.Equal(1048576, options.Pools.MaximumBufferSize);
        Assert.Equal(100000, options.Pools.MaximumSmallPoolFreeBytes);
        Assert.Equal(200000, options.Pools.MaximumLargePoolFreeBytes);
        Assert.Equal("x_method", options.Headers.Method);
        Assert.Equal("grpc-status", options.Headers.Status);
        Assert.Equal(TimeSpan.FromMilliseconds(2), options.Producer.Linger);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.Consumer.FetchMaxWait);

        var manager = options.Pools.CreateManager();
        Assert.Equal(4096, manager.Settings.BlockSize);
        Assert.Equal(200000, manager.Settings.MaximumLargePoolFreeBytes);
    }

    [Theory]
    [InlineData("MaxPendingCalls")]
    [InlineData("MaxPendingRequestBytes")]
    [InlineData("DefaultTimeout")]
    [InlineData("BlockSize")]
    [InlineData("InstanceId")]
    public void A_bad_setting_is_refused_when_the_client_is_built(string setting)
    {
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092" };
        switch (setting)
        {
            case "MaxPendingCalls": options.MaxPendingCalls = 0; break;
            case "MaxPendingRequestBytes": options.MaxPendingRequestBytes = options.MaxRequestBytes - 1; break;
            case "DefaultTimeout": options.DefaultTimeout = TimeSpan.Zero; break;
            case "BlockSize": options.Pools.BlockSize = 10; break;
            case "InstanceId": options.InstanceId = " "; break;
        }

        var error = Assert.ThrowsAny<ArgumentException>(() => new RpcClient(options));
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BaseDelay")]
    [InlineData("MaxDelay")]
    [InlineData("SamplingDuration")]
    [InlineData("BreakDuration")]
    public async Task A_resilience_setting_beyond_what_its_pipeline_takes_is_refused_when_the_client_is_built(string setting)
    {
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092" };
        var resilience = options.Resilience;
        var twoDays = TimeSpan.FromDays(2);
        switch (setting)
        {
            case "BaseDelay": (resilience.BaseDelay, resilience.MaxDelay) = (twoDays, twoDays); break;
            case "MaxDelay": resilience.MaxDelay = twoDays; break;
            case "SamplingDuration": (resilience.CircuitBreaker.Enabled, resilience.CircuitBreaker.SamplingDuration) = (true, twoDays); break;
            case "BreakDuration": (resilience.CircuitBreaker.Enabled, resilience.CircuitBreaker.BreakDuration) = (true, twoDays); break;
        }

        // Before, the client was built (or threw Polly's ValidationException), and with a breaker every call then failed
        // with that exception when the topic's pipeline was built.
        RpcClient? built = null;
        var error = Assert.ThrowsAny<ArgumentException>(() => built = new RpcClient(options));
        if (built is not null)
        {
            await built.DisposeAsync();
        }

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Pools.BlockSize")]
    [InlineData("Pools.MaximumBufferSize")]
    public void Pool_sizes_the_stream_manager_refuses_are_refused_when_the_client_or_server_is_built_and_named_by_their_path(string setting)
    {
        var client = new RpcClientOptions { BootstrapServers = "localhost:9092" };
        var server = new RpcServerOptions { BootstrapServers = "localhost:9092", RequestTopics = ["orders"], GroupId = "orders" };
        foreach (var pools in new[] { client.Pools, server.Pools })
        {
            if (setting == "Pools.BlockSize")
            {
                pools.BlockSize = int.MaxValue; // larger than MaximumBufferSize
            }
            else
            {
                pools.UseExponentialLargeBuffer = true;
                pools.MaximumBufferSize = int.MaxValue; // not LargeBufferMultiple times a power of two
            }
        }

        Assert.Equal(setting, Assert.ThrowsAny<ArgumentException>(() => new RpcClient(client)).ParamName);
        Assert.Equal(setting, Assert.ThrowsAny<ArgumentException>(() => new RpcServer(server)).ParamName);
    }

    [Fact]
    public async Task Building_a_client_leaves_the_callers_options_as_they_were_so_the_same_object_changed_builds_the_next_one_as_set()
    {
        var options = new RpcClientOptions { BootstrapServers = "a:9092", ClientId = "orders" };
        await using (new RpcClient(options))
        {
        }

        Assert.Equal("", options.Producer.BootstrapServers);
        Assert.Equal("", options.Consumer.BootstrapServers);
        Assert.Equal("messaging", options.Admin.ClientId);

        // Before, the first client's cluster had been written into the nested options, and the second client's
        // producer, consumer and admin client went on using it.
        options.BootstrapServers = "b:9092";
        options.Validate();
        var next = options.Copy();
        Assert.Equal(("b:9092", "b:9092", "b:9092"), (next.Producer.BootstrapServers, next.Consumer.BootstrapServers, next.Admin.BootstrapServers));
        Assert.Equal("orders", next.Consumer.ClientId);
    }

    [Theory]
    [InlineData((short)0)]
    [InlineData((short)-2)]
    [InlineData(short.MinValue)]
    public void A_reply_topic_replication_factor_the_broker_refuses_is_refused_when_the_client_is_built(short factor)
    {
        // Before, the client was built and its start failed with Unavailable on every call (the broker's INVALID_REPLICATION_FACTOR).
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092", ReplyTopicReplicationFactor = factor };

        var error = Assert.ThrowsAny<ArgumentException>(() => new RpcClient(options));

        Assert.Equal(nameof(RpcClientOptions.ReplyTopicReplicationFactor), error.ParamName);
    }

    [Theory]
    [InlineData((short)-1)]
    [InlineData((short)1)]
    [InlineData((short)3)]
    public async Task The_broker_default_or_a_positive_reply_topic_replication_factor_is_taken(short factor)
    {
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092", ReplyTopicReplicationFactor = factor };

        options.Validate();
        await new RpcClient(options).DisposeAsync();
    }
    [Theory]
    [InlineData("replies!")]
    [InlineData("rpc replies")]
    [InlineData("réponses")]
    [InlineData("rpc/replies")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(250)]
    public void A_reply_topic_name_kafka_refuses_is_refused_when_the_client_is_built(object name)
    {
        // Before, the client was built and its start failed with Unavailable on every call (the broker's INVALID_TOPIC_EXCEPTION).
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092", ReplyTopic = name as string ?? new string('r', (int)name) };

        var error = Assert.ThrowsAny<ArgumentException>(() => new RpcClient(options));

        Assert.Equal(nameof(RpcClientOptions.ReplyTopic), error.ParamName);
    }

    [Theory]
    [InlineData("pod/3")]
    [InlineData("pod 3")]
    [InlineData("pod:3")]
    [InlineData("pöd-3")]
    [InlineData(235)] // "r-" + 235 + "-" + 12 random hex digits: 250 characters
    public void An_instance_id_that_makes_a_per_instance_reply_topic_name_kafka_refuses_is_refused_when_the_client_is_built(object instanceId)
    {
        var id = instanceId as string ?? new string('i', (int)instanceId);
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092", ReplyTopic = "r", ReplyMode = RpcReplyMode.PerInstanceTopic, InstanceId = id };

        var error = Assert.ThrowsAny<ArgumentException>(() => new RpcClient(options));

        Assert.Equal(nameof(RpcClientOptions.InstanceId), error.ParamName);

        // In the shared modes the instance ID only chooses a partition: any one is fine.
        options.ReplyMode = RpcReplyMode.SharedTopicOnePartition;
        options.Validate();
    }

    [Fact]
    public async Task Legal_topic_names_up_to_the_longest_kafka_takes_are_taken()
    {
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092", ReplyTopic = "Rpc.replies_v2-" + new string('r', 234) };
        options.Validate();

        options.ReplyTopic = "r";
        options.ReplyMode = RpcReplyMode.PerInstanceTopic;
        options.InstanceId = "Pod_3.eu-west-" + new string('i', 220); // 249 characters with the prefix and the suffix
        await using var client = new RpcClient(options);
        Assert.Equal(249, client.PerInstanceTopic!.Length);
    }
    [Theory]
    [InlineData("3")]
    [InlineData("-1")]
    public void A_reply_mode_that_is_not_one_of_the_modes_is_refused_when_the_client_is_built(string configured)
    {
        // The configuration binder takes a number for an enum; before, the client was built and ran as SharedTopicOnePartition.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Rpc:ReplyMode"] = configured }).Build();
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092" };
        configuration.GetSection("Rpc").Bind(options);

        var error = Assert.ThrowsAny<ArgumentException>(() => new RpcClient(options));

        Assert.Equal(nameof(RpcClientOptions.ReplyMode), error.ParamName);
    }
}
