using System.Diagnostics;
using System.Runtime.CompilerServices;
using Polly;
using Polly.CircuitBreaker;

namespace Messaging.Rpc;

/// <summary>The client's resilient path (retries, circuit breakers, hedging) and the recording of call outcomes.</summary>
public sealed partial class RpcClient
{
    /// <summary>The state of the circuit breaker of <paramref name="topic"/>; <see cref="RpcCircuitState.Closed"/> when there is none (breakers off, or no call to it yet).</summary>
    /// <param name="topic">A request topic.</param>
    /// <returns>The state.</returns>
    public RpcCircuitState GetCircuitState(string topic) => _resilience.StateOf(topic);

    /// <summary>The circuit breakers' states by request topic (empty when breakers are off).</summary>
    public IEnumerable<KeyValuePair<string, RpcCircuitState>> CircuitStates => _resilience.CircuitStates;

    /// <summary>
    /// The resilient path: the call's attempts through its Polly pipeline (retries for idempotent calls, the topic's
    /// circuit breaker), each attempt the client's own with the call's one correlation ID.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResponse> ResilientAsync<TResponse>(CallAttempts attempts, Activity? activity, CancellationToken cancellationToken)
    {
        Tag(activity, attempts.CorrelationId);
        var pipeline = _resilience.Pipeline(attempts.Topic);

        // Polly waits out a backoff on the context's token: for a call that may be retried it also fires at the call's
        // deadline, so no backoff runs past it. The attempts watch the caller's token (their deadline is the sweep's).
        using var backoff = _resilience.Retries(attempts.Idempotent) ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken) : null;
        using var far = backoff is null ? null : new FarDeadline(backoff, attempts.Deadline, _time); // disposed before the source
        var context = ResilienceContextPool.Shared.Get(backoff?.Token ?? cancellationToken);
        context.Properties.Set(CallResilience.CallKey, attempts);
        try
        {
            return await pipeline.ExecuteAsync(static (_, s) => s.Attempts.Client.AttemptAsync<TResponse>(s.Attempts, s.CancellationToken), context,
                (Attempts: attempts, CancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch (BrokenCircuitException e)
        {
            throw RpcErrors.CircuitOpen(attempts.Method, attempts.Topic, attempts.CorrelationId, _time.GetElapsedTime(attempts.Start), e);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            // Polly observed the caller's token between attempts (during a backoff).
            throw RpcErrors.ForCall(RpcStatus.Cancelled, "the caller cancelled the call", attempts.Method, attempts.Topic, attempts.CorrelationId,
                _time.GetElapsedTime(attempts.Start), false, e);
        }
        catch (OperationCanceledException)
        {
            // The call's deadline came during a backoff: no attempt is sent after it.
            throw RpcErrors.DeadlineExceeded(attempts.Method, attempts.Topic, attempts.CorrelationId, _time.GetElapsedTime(attempts.Start), false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>One attempt of a resilient call: a pending entry under the call's correlation ID, its request, and for a hedged call a second request if the first is slow.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<TResponse> AttemptAsync<TResponse>(CallAttempts attempts, CancellationToken cancellationToken)
    {
        var (topic, method) = (attempts.Topic, attempts.Method);
        var attemptDeadline = _resilience.AttemptDeadline(attempts.Deadline, attempts.Idempotent);
        var call = await BeginAsync<TResponse>(topic, method, (int)attempts.Payload.Length, attempts.Serializer, attempts.Start, attemptDeadline, cancellationToken,
            attempts: attempts).ConfigureAwait(false);
        var generation = call.Generation;
        attempts.CountSend();
        if (_topics.IsWarm(topic))
        {
            Send(call, generation, attempts.HeaderValues, topic, method, Payload(attempts.Payload), attempts.ContentType, attempts.Options, hedge: false);
        }
        else
        {
            var copy = _streams.GetStream(); // the cold send keeps its own: the call's payload may go again
            copy.Write(Payload(attempts.Payload));
            SendCold(call, topic, method, copy, attempts.ContentType, attempts.Deadline, attempts.Options);
        }

        if (!attempts.Hedge)
        {
            return await call.AsValueTask().ConfigureAwait(false);
        }

        // A hedged call waits on a Task (one allocation, hedged calls only): it is awaited once for the hedging delay
        // and once for the outcome. Its completion recycles the pending call, so the hedge checks the generation.
        // A hedge is due only before the attempt's deadline: a longer delay (any length) schedules none.
        var outcome = call.AsValueTask().AsTask();
        var delay = _resilience.HedgeDelay(method);
        if (!outcome.IsCompleted && _topics.IsWarm(topic) && delay < attemptDeadline - _time.GetUtcNow())
        {
            try
            {
                // The pending call itself watches the caller's token; a delay beyond one timer's reach waits in steps.
                await FarDeadline.WaitAsync(outcome, delay, _time, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                SendHedge(call, generation, attempts, delay);
            }
        }

        return await outcome.ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the request of a slow hedged call once more, under the same correlation ID. The send is counted before
    /// the claim is checked, and a reply claims before it reads the count (both with full fences): so either this sees
    /// the call answered and sends nothing, or the reply sees two sends and the loser's reply is known as a duplicate.
    /// The header values are the call's own copy: the pending call may be recycled under this at any time.
    /// </summary>
    private void SendHedge(PendingCall call, int generation, CallAttempts attempts, TimeSpan delay)
    {
        attempts.CountSend();
        if (call.Generation != generation || call.IsClaimed)
        {
            return;
        }

        Send(call, generation, attempts.HeaderValues, attempts.Topic, attempts.Method, Payload(attempts.Payload), attempts.ContentType, attempts.Options, hedge: true);
        RpcMetrics.Shared.Hedged(attempts.Topic, attempts.Method);
        Activity.Current?.AddEvent(new ActivityEvent("hedge"));
        _log.Hedging(attempts.Method, attempts.Topic, delay.TotalMilliseconds, attempts.CorrelationId);
    }

    /// <summary>Records a call's outcome: metrics, the span's status, and a success's latency for hedging.</summary>
    private void Finished(string topic, string method, long start, RpcException? error, Activity? activity)
    {
        var elapsed = _time.GetElapsedTime(start);
        var status = error?.Status ?? RpcStatus.Ok;
        RpcMetrics.Shared.RecordCall(topic, method, status, elapsed);
        if (activity is not null)
        {
            RpcActivities.SetOutcome(activity, status, error?.Detail);
        }

        if (error is null)
        {
            _resilience.RecordSuccess(method, elapsed);
        }
    }

    private static void Tag(Activity? activity, Guid correlationId)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.message.conversation_id", correlationId.ToString());
        }
    }
}
