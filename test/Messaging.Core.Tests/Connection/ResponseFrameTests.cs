using System.Buffers;
using Messaging.Connection;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// Response buffers go back to the shared pool only up to <see cref="ResponseFrame.MaxPooledBytes"/>: the shared pool
/// keeps arrays of up to a gigabyte, so a huge response (or a buffer the read loop outgrew) would stay reachable.
/// Each check returns an array and rents the same size again on the same thread, where the shared pool's per-thread
/// cache hands back what was just returned.
/// </summary>
public sealed class ResponseFrameTests
{
    [Fact]
    public void A_small_buffer_goes_back_to_the_shared_pool()
    {
        var small = ArrayPool<byte>.Shared.Rent(16 * 1024);
        ResponseFrame.ReturnShared(small);
        var again = ArrayPool<byte>.Shared.Rent(16 * 1024);
        Assert.Same(small, again); // the check below can see what the pool keeps
        ArrayPool<byte>.Shared.Return(again);
    }

    [Fact]
    public void A_buffer_larger_than_the_pooled_limit_is_not_kept_by_the_shared_pool()
    {
        var large = ArrayPool<byte>.Shared.Rent(ResponseFrame.MaxPooledBytes * 4);
        ResponseFrame.ReturnShared(large);
        Assert.NotSame(large, ArrayPool<byte>.Shared.Rent(ResponseFrame.MaxPooledBytes * 4));
    }

    [Fact]
    public void A_frame_over_a_large_shared_buffer_is_not_kept_by_the_shared_pool_when_disposed()
    {
        var large = ArrayPool<byte>.Shared.Rent(ResponseFrame.MaxPooledBytes * 4);
        ResponseFrame.Wrap(large, large.Length).Dispose();
        Assert.NotSame(large, ArrayPool<byte>.Shared.Rent(ResponseFrame.MaxPooledBytes * 4));
    }
}
