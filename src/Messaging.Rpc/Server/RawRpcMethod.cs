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

    /// <summary>Runs the handler (through the interceptors) and returns its reply bytes as they are: the server hands them to the producer, which copies them.</summary>
    public ValueTask<ReadOnlyMemory<byte>> InvokeRawAsync(ReadOnlyMemory<byte> payload, RpcServerContext context) =>
        _chain is null ? _handler(payload, context) : _pipeline.RunAsync(_chain, payload, context);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask InvokeAsync(ReadOnlyMemory<byte> payload, RpcServerContext context, IBufferWriter<byte> reply)
    {
        var response = await InvokeRawAsync(payload, context).ConfigureAwait(false);
        reply.Write(response.Span);
    }
}
