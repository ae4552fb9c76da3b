using System.Buffers;
using System.Runtime.CompilerServices;

namespace Messaging.Rpc;

/// <summary>A method whose request and reply are decoded and encoded by an <see cref="IRpcSerializer"/>.</summary>
internal sealed class TypedRpcMethod<TRequest, TResponse> : RpcMethod
{
    private readonly Func<TRequest, RpcServerContext, ValueTask<TResponse>> _handler;
    private readonly IRpcSerializer _serializer;

    public TypedRpcMethod(string name, int maxConcurrency, IRpcSerializer serializer, Func<TRequest, RpcServerContext, ValueTask<TResponse>> handler)
        : base(name, maxConcurrency, serializer.ContentType)
    {
        _serializer = serializer;
        _handler = handler;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask InvokeAsync(ReadOnlyMemory<byte> payload, RpcServerContext context, IBufferWriter<byte> reply)
    {
        var request = Decode(payload.Span);
        var response = await _handler(request, context).ConfigureAwait(false);
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
