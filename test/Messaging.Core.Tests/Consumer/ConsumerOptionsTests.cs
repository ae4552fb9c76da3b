using Messaging.Consumer;
using Messaging.Pools;
using Microsoft.Extensions.Configuration;

namespace Messaging.Core.Tests.Consumer;

/// <summary>Consumer options: Kafka's defaults, validation, and binding from IConfiguration (pool knobs included).</summary>
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
        Assert.True(options.Pools.Enabled);
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
            ["Consumer:Pools:Enabled"] = "true",
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
        Assert.Equal(3, options.Pools.DecompressionBuffers.MaxRetainedPerBucket);
        Assert.Equal(1_048_576, options.Pools.DecompressionBuffers.MaxBucketSize);
        Assert.Equal(64 * 1024, options.Pools.DecompressionBuffers.MinBucketSize); // untouched knobs keep their defaults
        Assert.Equal(64, options.Pools.RecordSlices.MinBucketSize);
        Assert.Equal(1000, options.Pools.Records.MaxRetained);
        Assert.Equal(1_000_000, options.Pools.FetchResponses.MaxRetainedBytes);
        Assert.False(options.Pools.FetchResponses.Enabled);
        options.Validate();
    }

    [Theory]
    [InlineData(nameof(KafkaConsumerOptions.FetchMaxBytes))]
    [InlineData(nameof(KafkaConsumerOptions.MaxPartitionFetchBytes))]
    [InlineData(nameof(KafkaConsumerOptions.MaxPollRecords))]
    [InlineData(nameof(KafkaConsumerOptions.MaxBufferedBytes))]
    [InlineData(nameof(KafkaConsumerOptions.FetchMaxWait))]
    [InlineData(nameof(KafkaConsumerOptions.AutoOffsetReset))]
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
            default: options.AutoOffsetReset = (AutoOffsetReset)42; break;
        }

        Assert.Equal(setting, Assert.Throws<ArgumentException>(options.Validate).ParamName);
    }

    [Fact]
    public void Default_knobs_share_the_process_pools_and_changed_knobs_get_their_own()
    {
        var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092" };
        var pools = ConsumerPools.Create(options);
        Assert.Same(DecompressionBufferPool.Shared, pools.DecompressionBuffers);
        Assert.Same(RecordPool.Shared, pools.Records);
        Assert.Same(RecordSlicePool.Shared, pools.RecordSlices);

        options.Pools.DecompressionBuffers.MaxRetainedPerBucket = 1;
        Assert.NotSame(DecompressionBufferPool.Shared, ConsumerPools.Create(options).DecompressionBuffers);

        var custom = new RecordPool();
        options.Pools.RecordPool = custom;
        Assert.Same(custom, ConsumerPools.Create(options).Records);

        options.Pools.Enabled = false;
        options.Pools.RecordPool = null;
        var off = ConsumerPools.Create(options);
        Assert.Same(NoPooling.Records, off.Records);
        Assert.Same(NoPooling.RecordSlices, off.RecordSlices);
        Assert.Same(NoPooling.DecompressionBuffers, off.DecompressionBuffers);
    }
}
