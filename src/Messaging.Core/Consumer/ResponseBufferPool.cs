using Messaging.Connection;
using Messaging.Pools;

namespace Messaging.Consumer;

/// <summary>
/// One consumer's view of its <see cref="IFetchResponsePool"/>, as the connection's read loop asks for it: sizes
/// beyond what the consumer's fetch limits allow are refused without asking the pool, so a hostile size prefix falls
/// back to the read loop's grow-as-bytes-arrive path instead of renting (or allocating) a huge buffer up front.
/// </summary>
internal sealed class ResponseBufferPool : IResponseBufferPool
{
    private readonly IFetchResponsePool _pool;
    private readonly int _maxTrustedBytes;

    public ResponseBufferPool(IFetchResponsePool pool, int maxTrustedBytes)
    {
        _pool = pool;
        _maxTrustedBytes = maxTrustedBytes;
    }

    public IFetchResponsePool Pool => _pool;

    public byte[]? TryRent(int length)
    {
        if (length > _maxTrustedBytes)
        {
            return null;
        }

        var buffer = _pool.Rent(length);
        if (buffer is null || buffer.Length < length)
        {
            throw new InvalidOperationException("The fetch-response pool returned a buffer shorter than asked for.");
        }

        return buffer;
    }

    public void Return(byte[] buffer) => _pool.Return(buffer);
}
