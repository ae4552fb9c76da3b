using System.Buffers;
using System.Text;
using System.Text.Json.Serialization;
using FsCheck.Xunit;

namespace Messaging.Rpc.Tests.Codecs;

public sealed record Order(string Id, int Quantity, long PriceCents, List<string> Tags, bool Urgent, Order? Parent);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Order))]
internal sealed partial class OrderJsonContext : JsonSerializerContext;

/// <summary>The codecs round-trip whatever they are given, through one span and through a payload cut into segments.</summary>
public sealed class CodecPropertyTests
{
    private static readonly JsonRpcSerializer SourceGenerated = new(OrderJsonContext.Default);

    [Property(MaxTest = 200)]
    public void Json_round_trips_through_a_span_and_through_segments(string? id, int quantity, long price, string[]? tags, bool urgent, bool nested, byte cut)
    {
        var order = MakeOrder(id, quantity, price, tags, urgent, nested);
        foreach (var serializer in new[] { JsonRpcSerializer.Default, SourceGenerated })
        {
            var bytes = Serialize(serializer, order);

            AssertSame(order, serializer.Deserialize<Order>(bytes.AsSpan()));
            AssertSame(order, serializer.Deserialize<Order>(Segmented(bytes, 1 + cut % 7)));
        }
    }

    [Property(MaxTest = 200)]
    public void Reflection_and_source_generated_json_write_the_same_bytes(string? id, int quantity, long price, string[]? tags, bool urgent)
    {
        var order = MakeOrder(id, quantity, price, tags, urgent, nested: false);

        Assert.Equal(Serialize(JsonRpcSerializer.Default, order), Serialize(SourceGenerated, order));
    }

    [Fact]
    public void A_source_generated_codec_resolves_types_from_its_context_only()
    {
        var error = Assert.ThrowsAny<Exception>(() => Serialize(SourceGenerated, new Uri("http://example.com/")));

        Assert.True(error is NotSupportedException or InvalidOperationException, error.GetType().FullName);
    }

    [Property(MaxTest = 200)]
    public void Raw_bytes_pass_through_unchanged(byte[]? data, byte cut)
    {
        data ??= [];
        var raw = RawRpcSerializer.Instance;

        var viaArray = Serialize(raw, data);
        var viaMemory = Serialize(raw, new ReadOnlyMemory<byte>(data));
        var viaMutable = Serialize(raw, new Memory<byte>(data));

        Assert.Equal(data, viaArray);
        Assert.Equal(data, viaMemory);
        Assert.Equal(data, viaMutable);
        Assert.Equal(data, raw.Deserialize<byte[]>(data.AsSpan()));
        Assert.Equal(data, raw.Deserialize<ReadOnlyMemory<byte>>(data.AsSpan()).ToArray());
        Assert.Equal(data, raw.Deserialize<Memory<byte>>(Segmented(data, 1 + cut % 5)).ToArray());
    }

    [Fact]
    public void Raw_bytes_copy_out_of_the_source_buffer()
    {
        var pooled = new byte[] { 1, 2, 3 };

        var copy = RawRpcSerializer.Instance.Deserialize<byte[]>(pooled);
        pooled[0] = 99;

        Assert.Equal(new byte[] { 1, 2, 3 }, copy);
    }

    [Fact]
    public void The_raw_codec_refuses_types_that_are_not_bytes()
    {
        var writer = new ArrayBufferWriter<byte>();

        Assert.Throws<NotSupportedException>(() => RawRpcSerializer.Instance.Serialize("text", writer));
        Assert.Throws<NotSupportedException>(() => RawRpcSerializer.Instance.Deserialize<string>([1]));
    }

    [Fact]
    public void Content_types_name_the_codecs()
    {
        Assert.Equal("application/json", JsonRpcSerializer.Default.ContentType);
        Assert.Equal("application/octet-stream", RawRpcSerializer.Instance.ContentType);
    }

    private static byte[] Serialize<T>(IRpcSerializer serializer, T value)
    {
        var writer = new ArrayBufferWriter<byte>();
        serializer.Serialize(value, writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Strings as they survive UTF-8 (lone surrogates become U+FFFD), as any JSON text would carry them.</summary>
    private static string Clean(string? text) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text ?? ""));

    private static Order MakeOrder(string? id, int quantity, long price, string[]? tags, bool urgent, bool nested)
    {
        var list = new List<string>();
        foreach (var tag in tags ?? [])
        {
            list.Add(Clean(tag));
        }

        var parent = nested ? new Order(Clean(id) + "-parent", -quantity, price / 2, [], !urgent, null) : null;
        return new Order(Clean(id), quantity, price, list, urgent, parent);
    }

    private static void AssertSame(Order expected, Order actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Quantity, actual.Quantity);
        Assert.Equal(expected.PriceCents, actual.PriceCents);
        Assert.Equal(expected.Tags, actual.Tags);
        Assert.Equal(expected.Urgent, actual.Urgent);
        if (expected.Parent is null)
        {
            Assert.Null(actual.Parent);
        }
        else
        {
            AssertSame(expected.Parent, actual.Parent!);
        }
    }

    /// <summary>The bytes as a sequence of segments of <paramref name="size"/> bytes (the last may be shorter).</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int size)
    {
        if (bytes.Length <= size)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var first = new Segment(bytes.AsMemory(0, size), 0);
        var last = first;
        for (var offset = size; offset < bytes.Length; offset += size)
        {
            last = last.Append(bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
