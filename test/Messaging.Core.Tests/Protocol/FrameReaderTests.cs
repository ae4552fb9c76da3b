using System.Buffers;
using Messaging.Protocol;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class FrameReaderTests
{
    [Fact]
    public void Reports_need_more_until_the_whole_frame_is_there()
    {
        byte[] frame = Convert.FromHexString("00000003" + "AABBCC" + "00000001");
        Assert.False(FrameReader.TryGetFrame(frame.AsSpan(0, 3), ProtocolLimits.Default, out int length));
        Assert.Equal(-1, length);
        Assert.False(FrameReader.TryGetFrame(frame.AsSpan(0, 6), ProtocolLimits.Default, out length));
        Assert.Equal(3, length);
        Assert.True(FrameReader.TryGetFrame(frame, ProtocolLimits.Default, out length));
        Assert.Equal(3, length);
    }

    [Theory]
    [InlineData("FFFFFFFF")]
    [InlineData("80000000")]
    public void Negative_size_is_rejected_at_once(string hex)
    {
        KafkaProtocolException e = Assert.Throws<KafkaProtocolException>(() => FrameReader.TryGetFrame(Convert.FromHexString(hex), ProtocolLimits.Default, out _));
        Assert.Equal("Size", e.FieldName);
    }

    [Fact]
    public void Size_above_the_limit_is_rejected_without_waiting_or_allocating()
    {
        byte[] prefix = Convert.FromHexString("7FFFFFFF");
        var limits = new ProtocolLimits { MaxFrameBytes = 1024 };
        Assert.Throws<KafkaProtocolException>(() => FrameReader.TryGetFrame(prefix, limits, out _));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<KafkaProtocolException>(() => FrameReader.TryGetFrame(prefix, limits, out _));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void Size_equal_to_the_limit_is_accepted()
    {
        var limits = new ProtocolLimits { MaxFrameBytes = 2 };
        Assert.True(FrameReader.TryGetFrame(Convert.FromHexString("00000002AABB"), limits, out int length));
        Assert.Equal(2, length);
    }

    [Fact]
    public void Sequence_reader_finds_frames_split_across_segments_and_advances()
    {
        // Two frames, cut into single-byte segments so the prefix itself straddles segments.
        byte[] bytes = Convert.FromHexString("00000002AABB" + "00000001CC" + "0000");
        ReadOnlySequence<byte> buffer = Segments(bytes);
        Assert.True(FrameReader.TryReadFrame(ref buffer, ProtocolLimits.Default, out ReadOnlySequence<byte> first));
        Assert.Equal("AABB", Convert.ToHexString(first.ToArray()));
        Assert.True(FrameReader.TryReadFrame(ref buffer, ProtocolLimits.Default, out ReadOnlySequence<byte> second));
        Assert.Equal("CC", Convert.ToHexString(second.ToArray()));
        Assert.False(FrameReader.TryReadFrame(ref buffer, ProtocolLimits.Default, out _));
        Assert.Equal(2, buffer.Length);
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes)
    {
        var first = new Segment(bytes.AsMemory(0, 1), 0);
        Segment last = first;
        for (int i = 1; i < bytes.Length; i++)
        {
            last = last.Append(bytes.AsMemory(i, 1));
        }

        return new ReadOnlySequence<byte>(first, 0, last, 1);
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
