using Messaging.Consumer;
using Messaging.Pools;
using Microsoft.Extensions.Configuration;

namespace Messaging.Core.Tests.Consumer;

/// <summary>Consumer options: Kafka's defaults, validation, binding from IConfiguration, and the pools a consumer gets.</summary>
public sealed class ConsumerOptionsTests
{
    [Fact]
    public void Defaults_are_kafkas()
    {
        var options = new KafkaConsumerOptions();
        Assert.Equal(1, options.FetchMinBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.FetchMaxWait);
        Assert.Equal(52_428_800, options.FetchMaxBytes);
        Assert.Equal(1_048_576, options.MaxPartitionFetchBytes);
        Assert.Equal(IsolationLevel.ReadUncommitted, options.IsolationLevel);
        Assert.True(options.CheckCrcs);
        Assert.Equal(AutoOffsetReset.Latest, options.AutoOffsetReset);
        Assert.Equal(500, options.MaxPollRecords);
        Assert.Equal(64L * 1024 * 1024, options.MaxBufferedBytes);
        Assert.Same(ConsumerPools.Shared, options.Pools);
        Assert.Equal(TimeSpan.FromSeconds(60), options.DefaultApiTimeout);
    }

    [Fact]
    public void Every_setting_binds_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Consumer:BootstrapServers"] = "broker:9092",
            ["Consumer:FetchMinBytes"] = "1024",
            ["Consumer:FetchMaxWait"] = "00:00:00.250",
            ["Consumer:FetchMaxBytes"] = "1000000",
            ["Consumer:MaxPartitionFetchBytes"] = "4194304",
            ["Consumer:IsolationLevel"] = "ReadCommitted",
            ["Consumer:CheckCrcs"] = "false",
            ["Consumer:AutoOffsetReset"] = "Earliest",
            ["Consumer:MaxBufferedBytes"] = "1048576",
            ["Consumer:MaxPollRecords"] = "2000",
            ["Consumer:RetryBackoff"] = "00:00:01",
            ["Consumer:MaxDecompressedBatchBytes"] = "8388608",
            ["Consumer:FetchSessions"] = "false",
            ["Consumer:Pools:DecompressionBuffers:MaxRetainedPerBucket"] = "3",
            ["Consumer:Pools:DecompressionBuffers:MaxBucketSize"] = "1048576",
            ["Consumer:Pools:RecordSlices:MinBucketSize"] = "64",
            ["Consumer:Pools:Records:MaxRetained"] = "1000",
            ["Consumer:Pools:FetchResponses:MaxRetainedBytes"] = "1000000",
            ["Consumer:Pools:FetchResponses:Enabled"] = "false",
        }).Build();
        var options = new KafkaConsumerOptions();
        configuration.GetSection("Consumer").Bind(options);

        Assert.Equal("broker:9092", options.BootstrapServers);
        Assert.Equal(1024, options.FetchMinBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.FetchMaxWait);
        Assert.Equal(1_000_000, options.FetchMaxBytes);
        Assert.Equal(4_194_304, options.MaxPartitionFetchBytes);
        Assert.Equal(IsolationLevel.ReadCommitted, options.IsolationLevel);
        Assert.False(options.CheckCrcs);
        Assert.Equal(AutoOffsetReset.Earliest, options.AutoOffsetReset);
        Assert.Equal(1_048_576, options.MaxBufferedBytes);
        Assert.Equal(2000, options.MaxPollRecords);
        Assert.Equal(TimeSpan.FromSeconds(1), options.RetryBackoff);
        Assert.Equal(8_388_608, options.MaxDecompressedBatchBytes);
        Assert.False(options.FetchSessions);
        Assert.Same(ConsumerPools.Shared, options.Pools); // pool settings are not options the consumer reads: they build pools
        options.Validate();

        // The pool settings bind on their own and build the consumer's own pools, explicitly.
        var settings = configuration.GetSection("Consumer:Pools").Get<ConsumerPoolOptions>()!;
        Assert.Equal(3, settings.DecompressionBuffers.MaxRetainedPerBucket);
        Assert.Equal(1_048_576, settings.DecompressionBuffers.MaxBucketSize);
        Assert.Equal(64 * 1024, settings.DecompressionBuffers.MinBucketSize); // untouched knobs keep their defaults
        Assert.Equal(64, settings.RecordSlices.MinBucketSize);
        Assert.Equal(1000, settings.Records.MaxRetained);
        Assert.Equal(1_000_000, settings.FetchResponses.MaxRetainedBytes);
        Assert.False(settings.FetchResponses.Enabled);
        options.Pools = ConsumerPools.Create(settings);
        options.Validate();
        Assert.NotSame(FetchResponsePool.Shared, options.Pools.FetchResponses);
    }

    [Theory]
    [InlineData(nameof(KafkaConsumerOptions.FetchMaxBytes))]
    [InlineData(nameof(KafkaConsumerOptions.MaxPartitionFetchBytes))]
    [InlineData(nameof(KafkaConsumerOptions.MaxPollRecords))]
    [InlineData(nameof(KafkaConsumerOptions.MaxBufferedBytes))]
    [InlineData(nameof(KafkaConsumerOptions.FetchMaxWait))]
    [InlineData(nameof(KafkaConsumerOptions.AutoOffsetReset))]
    [InlineData(nameof(KafkaConsumerOptions.SocketSendBufferBytes))]
    [InlineData(nameof(KafkaConsumerOptions.SocketReceiveBufferBytes))]
    [InlineData(nameof(KafkaConsumerOptions.DefaultApiTimeout))]
    public void Invalid_settings_are_named(string setting)
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092" };
        switch (setting)
        {
            case nameof(KafkaConsumerOptions.FetchMaxBytes): options.FetchMaxBytes = 0; break;
            case nameof(KafkaConsumerOptions.MaxPartitionFetchBytes): options.MaxPartitionFetchBytes = -1; break;
            case nameof(KafkaConsumerOptions.MaxPollRecords): options.MaxPollRecords = 0; break;
            case nameof(KafkaConsumerOptions.MaxBufferedBytes): options.MaxBufferedBytes = 0; break;
            case nameof(KafkaConsumerOptions.FetchMaxWait): options.FetchMaxWait = TimeSpan.FromSeconds(-1); break;
            case nameof(KafkaConsumerOptions.SocketSendBufferBytes): options.SocketSendBufferBytes = -1; break;
            case nameof(KafkaConsumerOptions.SocketReceiveBufferBytes): options.SocketReceiveBufferBytes = -1; break;
            case nameof(KafkaConsumerOptions.DefaultApiTimeout): options.DefaultApiTimeout = TimeSpan.Zero; break;
            default: options.AutoOffsetReset = (AutoOffsetReset)42; break;
        }

        Assert.Equal(setting, Assert.Throws<ArgumentException>(options.Validate).ParamName);
    }

    [Fact]
    public async Task The_documented_default_is_the_shared_set_of_the_shared_pools_and_a_consumer_uses_it()
    {
        Assert.Same(DecompressionBufferPool.Shared, ConsumerPools.Shared.DecompressionBuffers);
        Assert.Same(RecordPool.Shared, ConsumerPools.Shared.Records);
        Assert.Same(RecordSlicePool.Shared, ConsumerPools.Shared.RecordSlices);
        Assert.Same(FetchResponsePool.Shared, ConsumerPools.Shared.FetchResponses);

        // The consumer connects only once partitions are assigned: building one needs no broker.
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = "localhost:9092" });
        var inUse = consumer.Pools;
        Assert.Same(ConsumerPools.Shared, inUse.Pools);
        Assert.Same(FetchResponsePool.Shared, Assert.IsType<ResponseBufferPool>(inUse.Responses).Pool);
    }

    [Fact]
    public void Settings_equal_to_the_defaults_still_build_pools_of_their_own()
    {
        var own = ConsumerPools.Create(new ConsumerPoolOptions());
        Assert.NotSame(DecompressionBufferPool.Shared, own.DecompressionBuffers);
        Assert.NotSame(RecordPool.Shared, own.Records);
        Assert.NotSame(RecordSlicePool.Shared, own.RecordSlices);
        Assert.NotSame(FetchResponsePool.Shared, own.FetchResponses);
        Assert.NotSame(own.Records, ConsumerPools.Create(new ConsumerPoolOptions()).Records);

        Assert.Same(NoPooling.Records, ConsumerPools.None.Records);
        Assert.Same(NoPooling.RecordSlices, ConsumerPools.None.RecordSlices);
        Assert.Same(NoPooling.DecompressionBuffers, ConsumerPools.None.DecompressionBuffers);
        Assert.Same(NoPooling.FetchResponses, ConsumerPools.None.FetchResponses);

        var custom = new RecordPool();
        var mixed = new ConsumerPools(ConsumerPools.Shared.DecompressionBuffers, custom, ConsumerPools.Shared.RecordSlices, ConsumerPools.Shared.FetchResponses);
        Assert.Same(custom, mixed.Records);
        Assert.Throws<ArgumentNullException>(() => new ConsumerPools(null!, custom, RecordSlicePool.Shared, FetchResponsePool.Shared));

        var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092", Pools = null! };
        Assert.Equal("Pools", Assert.Throws<ArgumentNullException>(options.Validate).ParamName);
    }

    [Fact]
    public void The_fetch_response_view_refuses_sizes_beyond_the_fetch_limits_without_asking_the_pool()
    {
        var pool = new CountingFetchResponsePool();
        var options = new KafkaConsumerOptions
        {
            BootstrapServers = "localhost:9092",
            FetchMaxBytes = 1024 * 1024,
            MaxPartitionFetchBytes = 1024 * 1024,
            Pools = new ConsumerPools(NoPooling.DecompressionBuffers, NoPooling.Records, NoPooling.RecordSlices, pool),
        };
        var responses = ConsumerPoolsInUse.Create(options.Clone()).Responses;
        var buffer = responses.TryRent(100_000);
        Assert.NotNull(buffer);
        responses.Return(buffer);
        Assert.Null(responses.TryRent(64 * 1024 * 1024));
        Assert.Equal(1, pool.Rents);
        Assert.Equal(1, pool.Returns);
    }

    private sealed class CountingFetchResponsePool : IFetchResponsePool
    {
        public int Rents { get; private set; }

        public int Returns { get; private set; }

        public byte[] Rent(int length)
        {
            Rents++;
            return new byte[length];
        }

        public void Return(byte[] buffer) => Returns++;
    }
}
