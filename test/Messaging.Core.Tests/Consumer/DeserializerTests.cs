using Messaging.Serialization;

namespace Messaging.Core.Tests.Consumer;

/// <summary>The built-in deserializers, the mirror images of the producer's serializers.</summary>
public sealed class DeserializerTests
{
    private static readonly DeserializationContext Context = new("t", 0, 0, RecordComponent.Value, default);

    [Fact]
    public void Built_ins_read_kafkas_encodings_and_nulls()
    {
        Assert.Equal([1, 2], Deserializers.ByteArray.Deserialize([1, 2], false, Context));
        Assert.Null(Deserializers.ByteArray.Deserialize([], true, Context));
        Assert.Empty(Deserializers.ByteArray.Deserialize([], false, Context)!);
        Assert.Equal("héllo", Deserializers.Utf8.Deserialize("héllo"u8, false, Context));
        Assert.Null(Deserializers.Utf8.Deserialize([], true, Context));
        Assert.Equal(0x01020304, Deserializers.Int32.Deserialize([1, 2, 3, 4], false, Context));
        Assert.Equal(-2L, Deserializers.Int64.Deserialize([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE], false, Context));
        Assert.Equal(1.5, Deserializers.Double.Deserialize([0x3F, 0xF8, 0, 0, 0, 0, 0, 0], false, Context));
        Assert.Equal(default, Deserializers.Ignore.Deserialize([9, 9], false, Context));
        Assert.Throws<InvalidDataException>(() => Deserializers.Int32.Deserialize([1, 2, 3], false, Context));
        Assert.Throws<InvalidDataException>(() => Deserializers.Int64.Deserialize([], true, Context));
    }

    [Fact]
    public void Json_reads_through_source_generated_metadata()
    {
        var deserializer = Deserializers.Json(DeserializerTestJsonContext.Default.JsonPoint);
        Assert.Equal(new JsonPoint(3, 4), deserializer.Deserialize("{\"X\":3,\"Y\":4}"u8, false, Context));
        Assert.Null(deserializer.Deserialize([], true, Context));
    }
}

public sealed record JsonPoint(int X, int Y);

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonPoint))]
internal sealed partial class DeserializerTestJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
