using System.Buffers;
using System.Runtime.CompilerServices;

namespace Messaging.Rpc;

/// <summary>A method that takes and returns payload bytes as they are (content type <c>application/octet-stream</c>).</summary>
internal sealed class RawRpcMethod : RpcMethod
{
    private readonly Func<ReadOnlyMemory<byte>, RpcServerContext, ValueTask<ReadOnlyMemory<byte>>> _handler;

    public RawRpcMethod(string name, int maxConcurrency, Func<ReadOnlyMemory<byte>, RpcServerContext, ValueTask<ReadOnlyMemory<byte>>> handler)
        : base(name, maxConcurrency, RawRpcSerializer.Instance.ContentType) => _handler = handler;

    public override bool AcceptsAnyContentType => true;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask InvokeAsync(ReadOnlyMemory<byte> payload, RpcServerContext context, IBufferWriter<byte> reply)
    {
        var response = await _handler(payload, context).ConfigureAwait(false);
        reply.Write(response.Span);
    }
}
