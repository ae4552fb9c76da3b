using System.Diagnostics;
using Messaging.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Messaging.Rpc;

/// <summary>
/// Logs every call it wraps, client or server side: its start and success at <see cref="LogLevel.Debug"/> (with the
/// elapsed time), a failure at <see cref="LogLevel.Warning"/> with its status and message. The correlation ID is in
/// every event, so a client's and a server's logs join on it. Source-generated events: a disabled level costs one
/// check.
/// </summary>
public sealed partial class RpcLoggingInterceptor : RpcInterceptor
{
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the interceptor.</summary>
    /// <param name="logger">Where to log.</param>
    /// <param name="timeProvider">The clock for elapsed times; default <see cref="TimeProvider.System"/>.</param>
    public RpcLoggingInterceptor(ILogger logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = GuardedLogger.Wrap(logger); // a throwing logger must not turn the call's outcome into its own exception
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public override ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation) =>
        LogAsync(context, continuation);

    /// <inheritdoc/>
    public override ValueTask<TResponse> InterceptHandlerAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation) =>
        LogAsync(context, continuation);

    private async ValueTask<TResponse> LogAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var start = _time.GetTimestamp();
        Started(context.Side, context.Method, context.Topic, context.CorrelationId);
        try
        {
            var response = await continuation(context).ConfigureAwait(false);
            var elapsedMs = _time.GetElapsedTime(start).TotalMilliseconds;
            Succeeded(context.Side, context.Method, context.Topic, context.CorrelationId, elapsedMs);
            return response;
        }
        catch (RpcException e)
        {
            var elapsedMs = _time.GetElapsedTime(start).TotalMilliseconds;
            Failed(context.Side, context.Method, context.Topic, context.CorrelationId, elapsedMs, e.Status, e.Detail);
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var elapsedMs = _time.GetElapsedTime(start).TotalMilliseconds;
            Failed(context.Side, context.Method, context.Topic, context.CorrelationId, elapsedMs, RpcStatus.Internal, e.Message);
            throw;
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "RPC {Side} call {Method} on {Topic} started (correlation id {CorrelationId})")]
    private partial void Started(RpcCallSide side, string method, string topic, Guid correlationId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "RPC {Side} call {Method} on {Topic} succeeded in {ElapsedMs} ms (correlation id {CorrelationId})")]
    private partial void Succeeded(RpcCallSide side, string method, string topic, Guid correlationId, double elapsedMs);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "RPC {Side} call {Method} on {Topic} failed after {ElapsedMs} ms with {Status}: {Error} (correlation id {CorrelationId})")]
    private partial void Failed(RpcCallSide side, string method, string topic, Guid correlationId, double elapsedMs, RpcStatus status, string error);
}
