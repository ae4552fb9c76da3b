namespace Messaging.Rpc;

/// <summary>
/// Makes the calls a server handler makes inherit its request's deadline and cancellation, as gRPC's call-context
/// propagation does: inside a handler (<see cref="RpcCallContext.Current"/> is a server call), an outgoing call's
/// deadline becomes the earlier of its own and the handler's, and its cancellation also fires when the handler's
/// does (deadline reached, server shutting down). Outside handlers it changes nothing. Put it on the client used by
/// handlers, normally last in the list so that other interceptors see the call as the caller made it.
/// </summary>
public sealed class RpcDeadlinePropagationInterceptor : RpcInterceptor
{
    private readonly TimeProvider _time;

    /// <summary>Creates the interceptor.</summary>
    /// <param name="timeProvider">The clock that turns a call's timeout into a deadline; default <see cref="TimeProvider.System"/> (use the client's).</param>
    public RpcDeadlinePropagationInterceptor(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc/>
    public override ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        if (RpcCallContext.Current is not { Side: RpcCallSide.Server } inbound)
        {
            return continuation(context);
        }

        if (inbound.Options.Deadline is { } inherited)
        {
            var options = context.Options;
            var own = options.Deadline ?? (options.Timeout is { } timeout ? FarDeadline.After(_time.GetUtcNow(), timeout) : (DateTimeOffset?)null);
            if (own is null || inherited < own)
            {
                context.Options = options with { Deadline = inherited, Timeout = null };
            }
        }

        var handler = inbound.CancellationToken;
        if (!handler.CanBeCanceled || handler == context.CancellationToken)
        {
            return continuation(context);
        }

        if (!context.CancellationToken.CanBeCanceled)
        {
            context.CancellationToken = handler;
            return continuation(context);
        }

        return CallLinkedAsync(context, continuation, handler);
    }

    private static async ValueTask<TResponse> CallLinkedAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation,
        CancellationToken handler)
    {
        // Both the caller's token and the handler's cancel the call; the link lives as long as the call.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, handler);
        context.CancellationToken = linked.Token;
        return await continuation(context).ConfigureAwait(false);
    }
}
