using System.Buffers;
using System.Runtime.CompilerServices;

namespace Messaging.Rpc;

/// <summary>A method whose request and reply are decoded and encoded by an <see cref="IRpcSerializer"/>.</summary>
internal sealed class TypedRpcMethod<TRequest, TResponse> : RpcMethod
{
    private readonly Func<TRequest, RpcServerContext, ValueTask<TResponse>> _handler;
    private readonly IRpcSerializer _serializer;
    private readonly HandlerPipeline _pipeline;
    private readonly RpcContinuation<TRequest, TResponse>? _chain;

    public TypedRpcMethod(string name, int maxConcurrency, HandlerPipeline pipeline, IRpcSerializer serializer, Func<TRequest, RpcServerContext, ValueTask<TResponse>> handler)
        : base(name, maxConcurrency, serializer.ContentType)
    {
        _serializer = serializer;
        _handler = handler;
        _pipeline = pipeline;
        _chain = pipeline.Build<TRequest, TResponse>(call => handler(call.Request, call.ServerContext!));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask InvokeAsync(ReadOnlyMemory<byte> payload, RpcServerContext context, IBufferWriter<byte> reply)
    {
        var request = Decode(payload.Span);
        var response = _chain is null
            ? await _handler(request, context).ConfigureAwait(false)
            : await _pipeline.RunAsync(_chain, request, context).ConfigureAwait(false);
        _serializer.Serialize(response, reply);
    }

    private TRequest Decode(ReadOnlySpan<byte> payload)
    {
        try
        {
            return _serializer.Deserialize<TRequest>(payload);
        }
#pragma warning disable CA1031 // Whatever the codec throws, the request is what was wrong: the caller gets InvalidArgument.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            throw new RpcException(RpcStatus.InvalidArgument, "The request could not be decoded as " + typeof(TRequest).Name + ": " + ex.Message, ex);
        }
    }
}
