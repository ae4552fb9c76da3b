using Microsoft.Extensions.Configuration;

namespace Messaging.Core.Tests.Producer;

public sealed class KafkaProducerOptionsTests
{
    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var options = new KafkaProducerOptions();
        Assert.Equal(Acks.All, options.Acks);
        Assert.Equal(TimeSpan.FromMilliseconds(5), options.Linger);
        Assert.Equal(1_000_000, options.BatchSize);
        Assert.Equal(1024 * 1024, options.MaxRequestSize);
        Assert.Equal(32L * 1024 * 1024, options.BufferMemory);
        Assert.Equal(TimeSpan.FromSeconds(60), options.MaxBlock);
        Assert.Equal(TimeSpan.FromSeconds(120), options.DeliveryTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.RetryBackoff);
        Assert.Equal(TimeSpan.FromSeconds(1), options.RetryBackoffMax);
        Assert.Equal(CompressionType.None, options.CompressionType);
        Assert.Null(options.CompressionLevel);
        Assert.Null(options.EnableIdempotence);
        Assert.True(options.IdempotenceEnabled);
        Assert.Equal(5, options.MaxInFlightRequestsPerConnection);
        Assert.Equal(PartitionerKind.Murmur2Random, options.Partitioner);
    }

    [Fact]
    public void Options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Producer:BootstrapServers"] = "b1:9092,b2:9092",
            ["Producer:ClientId"] = "orders",
            ["Producer:Acks"] = "Leader",
            ["Producer:Linger"] = "00:00:00.020",
            ["Producer:BatchSize"] = "65536",
            ["Producer:BufferMemory"] = "67108864",
            ["Producer:MaxBlock"] = "00:00:05",
            ["Producer:DeliveryTimeout"] = "00:01:00",
            ["Producer:CompressionType"] = "Zstd",
            ["Producer:CompressionLevel"] = "7",
            ["Producer:EnableIdempotence"] = "false",
            ["Producer:Partitioner"] = "Sticky",
            ["Producer:MaxInFlightRequestsPerConnection"] = "3",
        }).Build();
        var options = new KafkaProducerOptions();
        configuration.GetSection("Producer").Bind(options);

        Assert.Equal("b1:9092,b2:9092", options.BootstrapServers);
        Assert.Equal("orders", options.ClientId);
        Assert.Equal(Acks.Leader, options.Acks);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.Linger);
        Assert.Equal(65536, options.BatchSize);
        Assert.Equal(64L * 1024 * 1024, options.BufferMemory);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxBlock);
        Assert.Equal(TimeSpan.FromMinutes(1), options.DeliveryTimeout);
        Assert.Equal(CompressionType.Zstd, options.CompressionType);
        Assert.Equal(7, options.CompressionLevel);
        Assert.False(options.EnableIdempotence);
        Assert.Equal(PartitionerKind.Sticky, options.Partitioner);
        Assert.Equal(3, options.MaxInFlightRequestsPerConnection);
        options.Validate();
    }

    [Fact]
    public void Idempotence_left_unset_turns_off_with_acks_other_than_all_as_in_the_Java_client()
    {
        Assert.False(new KafkaProducerOptions { Acks = Acks.Leader }.IdempotenceEnabled);
        Assert.False(new KafkaProducerOptions { MaxInFlightRequestsPerConnection = 6 }.IdempotenceEnabled);
        Assert.True(new KafkaProducerOptions { EnableIdempotence = true }.IdempotenceEnabled);
        Assert.False(new KafkaProducerOptions { EnableIdempotence = false }.IdempotenceEnabled);
    }

    [Theory]
    [InlineData("Acks")]
    [InlineData("MaxInFlightRequestsPerConnection")]
    public void Explicit_idempotence_rejects_settings_it_cannot_honour(string conflict)
    {
        var options = new KafkaProducerOptions { BootstrapServers = "b:1", EnableIdempotence = true };
        if (conflict == "Acks")
        {
            options.Acks = Acks.Leader;
        }
        else
        {
            options.MaxInFlightRequestsPerConnection = 6;
        }

        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(nameof(KafkaProducerOptions.EnableIdempotence), error.ParamName);
    }

    [Fact]
    public void Invalid_settings_are_named()
    {
        static string Param(Action<KafkaProducerOptions> change)
        {
            var options = new KafkaProducerOptions { BootstrapServers = "b:1" };
            change(options);
            return Assert.Throws<ArgumentException>(options.Validate).ParamName!;
        }

        Assert.Equal("BatchSize", Param(o => o.BatchSize = 0));
        Assert.Equal("BatchSize", Param(o => o.BatchSize = 2 * 1024 * 1024));
        Assert.Equal("MaxRequestSize", Param(o => o.MaxRequestSize = 100));
        Assert.Equal("BufferMemory", Param(o => o.BufferMemory = 1000));
        Assert.Equal("DeliveryTimeout", Param(o => o.DeliveryTimeout = TimeSpan.FromSeconds(10)));
        Assert.Equal("Linger", Param(o => o.Linger = TimeSpan.FromMilliseconds(-1)));
        Assert.Equal("MaxBlock", Param(o => o.MaxBlock = TimeSpan.FromMilliseconds(-1)));
        Assert.Equal("RetryBackoff", Param(o => o.RetryBackoff = TimeSpan.Zero));
        Assert.Equal("CompressionType", Param(o => o.CompressionType = (CompressionType)7));
        Assert.Equal("Acks", Param(o => o.Acks = (Acks)5));
        Assert.Equal("BootstrapServers", Param(o => o.BootstrapServers = ""));
    }
}
