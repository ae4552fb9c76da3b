namespace Messaging.Rpc.Tests.Codecs;

/// <summary>The header encodings peers in other languages rely on.</summary>
public sealed class RpcWireTests
{
    [Fact]
    public void A_correlation_id_is_the_uuid_in_big_endian_order_as_java_writes_it()
    {
        var id = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        var bytes = new byte[16];

        RpcWire.WriteCorrelationId(id, bytes);

        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), bytes);
        Assert.True(RpcWire.TryReadCorrelationId(bytes, out var read));
        Assert.Equal(id, read);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    public void A_correlation_id_of_another_length_is_refused(int length)
    {
        Assert.False(RpcWire.TryReadCorrelationId(new byte[length], out _));
    }

    [Fact]
    public void Integers_and_deadlines_are_big_endian()
    {
        Assert.Equal(new byte[] { 0, 0, 1, 2 }, RpcWire.EncodeInt32(258));
        var deadline = new byte[8];
        RpcWire.WriteDeadline(DateTimeOffset.FromUnixTimeMilliseconds(0x0102030405), deadline);
        Assert.Equal(new byte[] { 0, 0, 0, 1, 2, 3, 4, 5 }, deadline);
    }

    [Fact]
    public void Header_names_default_to_springs_and_one_prefix_and_can_each_be_changed()
    {
        var names = new RpcHeaderNames();
        Assert.Equal("kafka_correlationId", names.CorrelationId);
        Assert.Equal("kafka_replyTopic", names.ReplyTopic);
        Assert.Equal("kafka_replyPartition", names.ReplyPartition);
        Assert.Equal("messaging_rpc_method", names.Method);
        Assert.Equal("messaging_rpc_deadline", names.Deadline);
        Assert.Equal("messaging_rpc_content_type", names.ContentType);
        Assert.Equal("messaging_rpc_status", names.Status);
        Assert.Equal("messaging_rpc_error", names.ErrorMessage);

        names.Prefix = "x-";
        names.Status = "grpc-status";
        Assert.Equal("x-method", names.Method);
        Assert.Equal("grpc-status", names.Status);
    }

    [Fact]
    public void Two_headers_with_one_name_are_refused()
    {
        var options = new RpcClientOptions { BootstrapServers = "localhost:9092" };
        options.Headers.Method = "kafka_replyTopic";

        var error = Assert.Throws<ArgumentException>(() => new RpcClient(options));
        Assert.Contains("kafka_replyTopic", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_instance_always_gets_the_same_reply_partition()
    {
        // FNV-1a 32 over the UTF-8 bytes: fixed values, the same on every run and platform.
        Assert.Equal(12, ReplyTopics.PartitionFor("pod-7", 16));
        Assert.Equal(0, ReplyTopics.PartitionFor("pod-7", 2));
        Assert.Equal(12, ReplyTopics.PartitionFor("a", 16));
    }
}
