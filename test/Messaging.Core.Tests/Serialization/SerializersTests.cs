using System.Buffers;
using System.Text.Json.Serialization;
using Messaging.Serialization;

namespace Messaging.Core.Tests.Serialization;

public sealed class SerializersTests
{
    [Fact]
    public void Built_ins_write_the_Java_clients_encodings()
    {
        Assert.Equal([1, 2, 3], Write(Serializers.ByteArray, new byte[] { 1, 2, 3 }));
        Assert.Equal([4, 5], Write(Serializers.Memory, new ReadOnlyMemory<byte>([4, 5])));
        Assert.Equal("héllo"u8.ToArray(), Write(Serializers.Utf8, "héllo"));
        Assert.Equal([0x12, 0x34, 0x56, 0x78], Write(Serializers.Int32, 0x12345678));
        Assert.Equal([0xff, 0xff, 0xff, 0xfe], Write(Serializers.Int32, -2));
        Assert.Equal([0, 0, 0, 1, 0, 0, 0, 2], Write(Serializers.Int64, 0x0000000100000002L));
    }

    [Fact]
    public void Json_uses_the_source_generated_context()
    {
        var serializer = Serializers.Json(TestJsonContext.Default.Order);
        Assert.Equal("""{"id":7,"item":"book"}"""u8.ToArray(), Write(serializer, new Order(7, "book")));

        // The per-thread writer is reused across outputs.
        Assert.Equal("""{"id":8,"item":"pen"}"""u8.ToArray(), Write(serializer, new Order(8, "pen")));
    }

    [Fact]
    public void Serializing_into_a_reused_buffer_allocates_nothing()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Serializers.Utf8.Serialize("warm up", buffer);
        Serializers.Int64.Serialize(1, buffer);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            buffer.ResetWrittenCount();
            Serializers.Utf8.Serialize("a string key", buffer);
            Serializers.Int64.Serialize(i, buffer);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static byte[] Write<T>(ISerializer<T> serializer, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }
}

public sealed record Order(int Id, string Item);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Order))]
internal sealed partial class TestJsonContext : JsonSerializerContext
{
}
