using System.Buffers;
using System.Runtime.CompilerServices;

namespace Messaging.Rpc;

/// <summary>A method that takes and returns payload bytes as they are (content type <c>application/octet-stream</c>).</summary>
internal sealed class RawRpcMethod : RpcMethod
{
    private readonly Func<ReadOnlyMemory<byte>, RpcServerContext, ValueTask<ReadOnlyMemory<byte>>> _handler;

    private readonly HandlerPipeline _pipeline;
    private readonly RpcContinuation<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>? _chain;

    public RawRpcMethod(string name, int maxConcurrency, HandlerPipeline pipeline, Func<ReadOnlyMemory<byte>, RpcServerContext, ValueTask<ReadOnlyMemory<byte>>> handler)
        : base(name, maxConcurrency, RawRpcSerializer.Instance.ContentType)
    {
        _handler = handler;
        _pipeline = pipeline;
        _chain = pipeline.Build<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>(call => handler(call.Request, call.ServerContext!));
    }

    public override bool AcceptsAnyContentType => true;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask InvokeAsync(ReadOnlyMemory<byte> payload, RpcServerContext context, IBufferWriter<byte> reply)
    {
        var response = _chain is null
            ? await _handler(payload, context).ConfigureAwait(false)
            : await _pipeline.RunAsync(_chain, payload, context).ConfigureAwait(false);
        reply.Write(response.Span);
    }
}
