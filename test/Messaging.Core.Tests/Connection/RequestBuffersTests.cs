using Messaging.Connection;
using Messaging.Protocol;

namespace Messaging.Core.Tests.Connection;

public sealed class RequestBuffersTests
{
    [Fact]
    public void A_size_hint_gets_a_buffer_that_needs_no_growth()
    {
        var writer = RequestBuffers.Rent(sizeHint: 1_000_100);
        try
        {
            var capacity = writer.Capacity;
            Assert.True(capacity >= 1_000_100);
            writer.GetSpan(1_000_100);
            writer.Advance(1_000_100);
            Assert.Equal(capacity, writer.Capacity); // filled to the hint without growing (no doubling copies)
        }
        finally
        {
            RequestBuffers.Return(writer);
        }
    }

    [Fact]
    public void A_returned_writer_keeps_no_large_array()
    {
        var writer = RequestBuffers.Rent(sizeHint: 4 * RequestBuffers.MaxRetainedBytes);
        writer.GetSpan(3 * RequestBuffers.MaxRetainedBytes);
        writer.Advance(3 * RequestBuffers.MaxRetainedBytes);
        RequestBuffers.Return(writer);

        // Whether or not the pool kept the writer, it no longer holds the large array, and it starts empty.
        Assert.True(writer.Capacity <= RequestBuffers.MaxRetainedBytes);
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void Reset_keeps_an_array_in_range_and_replaces_one_outside_it()
    {
        using var writer = new ContiguousBufferWriter(8192);
        writer.GetSpan(100);
        writer.Advance(100);
        var before = writer.Capacity;
        writer.Reset(minimumCapacity: 4096, maximumCapacity: 65536);
        Assert.Equal(before, writer.Capacity);
        Assert.Equal(0, writer.WrittenCount);

        writer.Reset(minimumCapacity: 100_000, maximumCapacity: 65536);
        Assert.True(writer.Capacity >= 100_000);

        writer.Reset(minimumCapacity: 256, maximumCapacity: 4096);
        Assert.InRange(writer.Capacity, 256, 4096);
    }
}
