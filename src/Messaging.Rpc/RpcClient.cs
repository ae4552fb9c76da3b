using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.IO;

namespace Messaging.Rpc;

/// <summary>
/// Calls services over Kafka: a request record to the service's topic, its reply on this client's reply partition,
/// matched by correlation ID. One client per process, thread-safe, shared by every caller.
/// </summary>
/// <remarks>
/// <para><b>Starting.</b> The client starts on its first call (or explicitly with <see cref="StartAsync"/>): it sets
/// up its reply topic (<see cref="RpcClientOptions.ReplyMode"/>), assigns its reply partitions from their end and
/// waits until they are positioned — no request is sent before, so no reply can be missed.</para>
/// <para><b>Outcomes.</b> A call returns the decoded reply or throws <see cref="RpcException"/>: the server's status
/// and message, <see cref="RpcStatus.DeadlineExceeded"/> at its deadline, <see cref="RpcStatus.Cancelled"/> when the
/// caller's token fires, <see cref="RpcStatus.Unavailable"/> when the request topic does not exist, the request cannot
/// be sent or the client is disposed, <see cref="RpcStatus.InvalidArgument"/> at once when the request topic is not a
/// legal Kafka topic name, <see cref="RpcStatus.ResourceExhausted"/> beyond the client's bounds. Every call completes
/// exactly once.</para>
/// <para><b>Memory.</b> A request is encoded into a pooled stream, copied by the producer into its batch, and the
/// stream returned at once; the reply is decoded from the consumer's pooled buffer, which is recycled at once. A call
/// waits on a pooled value-task source: no Task per call. Await a call once; to block on it or await it twice, use
/// <see cref="ValueTask{TResult}.AsTask"/> — reading its result before it completed throws
/// <see cref="InvalidOperationException"/> (the call itself goes on).</para>
/// <para><b>Resilience, middleware, telemetry.</b> Idempotent calls may be retried and hedged under their one correlation
/// ID, circuit breakers guard each request topic (<see cref="RpcClientOptions.Resilience"/>); interceptors wrap every
/// call (<see cref="RpcClientOptions.Interceptors"/>); calls are spans and measurements of <see cref="RpcTelemetry"/>'s
/// names, and requests carry W3C trace context. See <c>docs/rpc.md</c>.</para>
/// <para><b>Disposal.</b> <see cref="DisposeAsync"/> refuses new calls, fails every pending call at once with
/// <see cref="RpcStatus.Unavailable"/>, stops the reply consumer, deletes a per-instance reply topic, and drops every
/// reference to callers and payloads.</para>
/// </remarks>
public sealed partial class RpcClient : IAsyncDisposable
{
    /// <summary>Methods whose UTF-8 names are cached; past this many distinct names they are encoded per call.</summary>
    private const int MaxCachedMethods = 1024;

    private static readonly DeliveryHandler<DeliveryToken> OnRequestDelivered =
        static (in DeliveryResult _, ProduceException? error, DeliveryToken token) =>
        {
            if (token.Hedge)
            {
                PendingCalls.OnHedgeDelivered(token.Call, token.Generation, error);
            }
            else
            {
                token.Calls.OnDelivered(token.Call, token.Generation, error);
            }
        };

    private readonly RpcClientOptions _options;
    private readonly TimeProvider _time;
    private readonly RpcWire _wire;
    private readonly IRpcSerializer _serializer;
    private readonly byte[] _contentType;
    private readonly byte[] _rawContentType;
    private readonly RecyclableMemoryStreamManager _streams;
    private readonly KafkaProducer _producer;
    private readonly KafkaAdminClient _admin;
    private readonly PendingCalls _calls;
    private readonly SendOrder _order = new();
    private readonly ReplyListener _replies;
    private readonly KnownTopics _topics;
    private readonly ConcurrentDictionary<string, byte[]> _methodNames = new(StringComparer.Ordinal);
    private readonly RpcInterceptor[] _interceptors;

    /// <summary>The interceptor chain per request/reply type pair (keyed by its continuation type), built on first use.</summary>
    private readonly ConcurrentDictionary<Type, Delegate> _chains = new();
    private readonly CallResilience _resilience;
    private readonly RpcClientLog _log;
    private RpcContinuation<ReadOnlyMemory<byte>, byte[]>? _rawChain;
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _startLock = new();
    private Task? _start;
    private ReplyRoute? _route;
    private readonly string? _perInstanceTopic;
    private string? _createdReplyTopic;
    private int _disposed;

    /// <summary>Creates the client; it connects and sets up its reply partitions when started.</summary>
    /// <param name="options">The settings; validated now.</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public RpcClient(RpcClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options = options.Copy(); // read at start and per call: the caller's later changes (for its next client, say) must not reach this one
        _options = options;
        _time = options.TimeProvider;
        _wire = new RpcWire(options.Headers);
        _serializer = options.Serializer;
        _contentType = Encoding.UTF8.GetBytes(_serializer.ContentType);
        _rawContentType = Encoding.UTF8.GetBytes(RawRpcSerializer.Instance.ContentType);
        _streams = options.Pools.CreateManager();
        _interceptors = [.. options.Interceptors];
        _log = new RpcClientLog(options.LoggerFactory.CreateLogger<RpcClient>());
        _resilience = new CallResilience(options.Resilience, _time, _log);
        _calls = new PendingCalls(options, _wire);
        _producer = new KafkaProducer(options.Producer);
        KafkaAdminClient? admin = null;
        try
        {
            _admin = admin = new KafkaAdminClient(options.Admin);
            _replies = new ReplyListener(options.Consumer, _calls, _time);
        }
        catch
        {
            // A nested client that cannot be built (its TLS files, say): the ones built before it run until disposed.
            _ = QuietDisposal.DisposeAsync(_producer, admin);
            throw;
        }

        _topics = new KnownTopics(_admin, _time, server: false);
        _perInstanceTopic = options.ReplyMode == RpcReplyMode.PerInstanceTopic ? ReplyTopics.PerInstanceName(options.ReplyTopic, options.InstanceId) : null;

        // Registered last: the gauge keeps what it holds until disposal, and a constructor that throws has no disposal.
        if (options.Resilience.CircuitBreaker.Enabled)
        {
            RpcMetrics.Shared.Register(_resilience);
        }
    }

    /// <summary>The reply topic this client reads (known once started).</summary>
    public string? ReplyTopic => _route?.Topic;

    /// <summary>The reply partition this client names in its requests, or -1 when it reads every partition and names one of them per call (known once started).</summary>
    public int ReplyPartition => _route?.Partition ?? -1;

    /// <summary>The client's counters.</summary>
    public RpcClientStatistics Statistics => _calls.Statistics;

    /// <summary>The pooled payload streams (for tests: rents and returns).</summary>
    internal RecyclableMemoryStreamManager Streams => _streams;

    /// <summary>The reply topic of this instance alone in <see cref="RpcReplyMode.PerInstanceTopic"/>, null in the other modes (for tests: known before the start).</summary>
    internal string? PerInstanceTopic => _perInstanceTopic;

    /// <summary>Entries in the pending-call map (for tests).</summary>
    internal int PendingEntries => _calls.Count;

    /// <summary>The client's producer (for tests: to wait for its requests' acknowledgements).</summary>
    internal KafkaProducer Producer => _producer;

    /// <summary>For tests: calls waiting for room in the bounds.</summary>
    internal int WaitingForRoom => _calls.WaitingForRoom;

    /// <summary>For tests: calls in line to send behind calls made before them that waited (the first of them may be waiting for room).</summary>
    internal int WaitingToSend => _order.Count;

    /// <summary>Calls <paramref name="method"/> on the service listening on <paramref name="topic"/> and returns its decoded reply.</summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <typeparam name="TResponse">The reply's type.</typeparam>
    /// <param name="topic">The service's request topic.</param>
    /// <param name="method">The method name.</param>
    /// <param name="request">
    /// The request; encoded with <see cref="RpcClientOptions.Serializer"/> before this returns its first await, not kept — behind
    /// interceptors, when the chain reaches the call (an interceptor that awaits first returns before then: do not change the request meanwhile).
    /// </param>
    /// <param name="options">Deadline or timeout, headers, key, idempotency.</param>
    /// <param name="cancellationToken">Cancels the call (<see cref="RpcStatus.Cancelled"/>); the request may already have been sent.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="RpcException">The call did not succeed; <see cref="RpcException.Status"/> says how.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed before the call.</exception>
    public ValueTask<TResponse> CallAsync<TRequest, TResponse>(string topic, string method, TRequest request, RpcCallOptions options = default,
        CancellationToken cancellationToken = default)
    {
        if (_interceptors.Length == 0)
        {
            return InvokeAsync<TRequest, TResponse>(topic, method, request, options, Guid.Empty, cancellationToken);
        }

        // An interceptor may await before the call reads the key: the call's own copy (the caller may reuse it once this returned).
        var context = new RpcCallContext<TRequest>(RpcCallSide.Client, topic, method, Guid.NewGuid(), request, options.WithOwnKey(), cancellationToken);
        var chain = (RpcContinuation<TRequest, TResponse>)_chains.GetOrAdd(typeof(RpcContinuation<TRequest, TResponse>), static (_, self) =>
            RpcInterceptorChain.Build<TRequest, TResponse>(self._interceptors, RpcCallSide.Client,
                c => self.InvokeAsync<TRequest, TResponse>(c.Topic, c.Method, c.Request, c.Options, c.CorrelationId, c.CancellationToken)), this);
        return chain(context);
    }

    /// <summary>Calls <paramref name="method"/> with a raw payload (content type <c>application/octet-stream</c>) and returns the raw reply.</summary>
    /// <param name="topic">The service's request topic.</param>
    /// <param name="method">The method name.</param>
    /// <param name="request">The payload; read before this returns its first await, not kept.</param>
    /// <param name="options">Deadline or timeout, headers, key, idempotency.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The reply payload (a copy: the consumer's buffer is reused).</returns>
    /// <exception cref="RpcException">The call did not succeed.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed before the call.</exception>
    public ValueTask<byte[]> CallAsync(string topic, string method, ReadOnlyMemory<byte> request, RpcCallOptions options = default,
        CancellationToken cancellationToken = default)
    {
        if (_interceptors.Length == 0)
        {
            return InvokeRawAsync(topic, method, request, options, Guid.Empty, ownPayload: false, cancellationToken);
        }

        // An interceptor may await before the call reads the payload and key: the call's own copies (the caller may reuse
        // them once this returned) — but for an oversized payload, which is not copied: the call fails on its size.
        var own = request.Length > _options.MaxRequestBytes ? null : request.ToArray();
        var context = new RpcCallContext<ReadOnlyMemory<byte>>(RpcCallSide.Client, topic, method, Guid.NewGuid(), own ?? request, options.WithOwnKey(),
            cancellationToken) { OwnPayload = own };
        _rawChain ??= RpcInterceptorChain.Build<ReadOnlyMemory<byte>, byte[]>(_interceptors, RpcCallSide.Client,
            c => InvokeRawAsync(c.Topic, c.Method, c.Request, c.Options, c.CorrelationId, c.IsOwnPayload(c.Request), c.CancellationToken));
        return _rawChain(context);
    }

    /// <summary>The typed call after the interceptors: encodes, then takes the plain or the resilient path; records the outcome.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResponse> InvokeAsync<TRequest, TResponse>(string topic, string method, TRequest request, RpcCallOptions options, Guid correlationId,
        CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        var deadline = DeadlineOf(options);
        using var activity = RpcActivities.StartClientCall(topic, method);
        SendOrder.Turn? turn = null;
        try
        {
            // Encoded before the first await: the caller may change or reuse the request as soon as this returns.
            var stream = _streams.GetStream();
            try
            {
                Encode(_serializer, request, stream, method, topic, start);
                var prepared = PrepareAsync(topic, method, start, deadline, cancellationToken);
                turn = TurnFor(prepared.IsCompleted);
                if (turn is not null)
                {
                    options = options.WithOwnKey();
                }

                await prepared.ConfigureAwait(false);
            }
            catch
            {
                stream.Dispose();
                throw;
            }

            var idempotent = _resilience.IsIdempotent(method, options);
            TResponse response;
            if (_resilience.Applies(idempotent))
            {
                CallAttempts attempts;
                try
                {
                    attempts = new CallAttempts(this, topic, method, correlationId == Guid.Empty ? Guid.NewGuid() : correlationId, idempotent,
                        idempotent && _resilience.Hedging, deadline, stream, _contentType, _serializer, options, start);
                }
                catch
                {
                    stream.Dispose();
                    throw;
                }

                using (attempts)
                {
                    await WaitTurnAsync(turn, method, topic, start, deadline, cancellationToken).ConfigureAwait(false);
#pragma warning disable CA2012 // Awaited once, just below: the turn is given up in between, once the first attempt went out (before the call first yields, unless it waits for room).
                    var resilient = ResilientAsync<TResponse>(attempts, activity, cancellationToken);
#pragma warning restore CA2012
                    Leave(turn);
                    response = await resilient.ConfigureAwait(false);
                }
            }
            else
            {
                var own = turn;
                turn = null; // the plain path's own from here on: it gives it up once its request is sent
                response = await CallOnceAsync<TResponse>(topic, method, stream, options, correlationId, start, deadline, activity, own, cancellationToken).ConfigureAwait(false);
            }

            Finished(topic, method, start, null, activity);
            return response;
        }
        catch (RpcException e)
        {
            Finished(topic, method, start, e, activity);
            throw;
        }
        finally
        {
            Leave(turn);
        }
    }

    /// <summary>The plain path: one request from its encoded payload, whose stream (owned from here on) is returned as soon as the producer has copied it.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResponse> CallOnceAsync<TResponse>(string topic, string method, RecyclableMemoryStream stream, RpcCallOptions options, Guid correlationId,
        long start, DateTimeOffset deadline, Activity? activity, SendOrder.Turn? turn, CancellationToken cancellationToken)
    {
        PendingCall<TResponse>? call;
        RecyclableMemoryStream? owned = stream;
        try
        {
            call = turn is null ? TryBegin<TResponse>(topic, method, (int)stream.Length, _serializer, start, deadline, correlationId, cancellationToken) : null;
            if (call is null)
            {
                // Waiting (for its turn, or for room): the key is read after the caller got control back, and calls made
                // after this one queue behind it.
                options = options.WithOwnKey();
                turn ??= _order.Enter();
                await WaitTurnAsync(turn, method, topic, start, deadline, cancellationToken).ConfigureAwait(false);
                call = await BeginAsync<TResponse>(topic, method, (int)stream.Length, _serializer, start, deadline, cancellationToken, correlationId).ConfigureAwait(false);
            }

            Tag(activity, call.CorrelationId);
            if (_topics.IsWarm(topic))
            {
                Send(call, topic, method, Payload(stream), _contentType, deadline, options);
            }
            else
            {
                SendCold(call, topic, method, stream, _contentType, deadline, options);
                owned = null; // the cold send owns it now
            }
        }
        finally
        {
            // Sent (the producer took it in order) or failed: the next call in line may send.
            Leave(turn);

            // The producer copied the payload into its batch (or never took it): the stream goes back to the pool now.
            owned?.Dispose();
        }

        return await call.AsValueTask().ConfigureAwait(false);
    }

    /// <summary>The raw call after the interceptors; <paramref name="ownPayload"/>: the payload is the call's own copy already (made before the interceptors).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<byte[]> InvokeRawAsync(string topic, string method, ReadOnlyMemory<byte> request, RpcCallOptions options, Guid correlationId,
        bool ownPayload, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        var deadline = DeadlineOf(options);
        using var activity = RpcActivities.StartClientCall(topic, method);
        RecyclableMemoryStream? copy = null; // the caller's payload, when the call waits before it sends
        var owned = false; // the payload and key are the call's own (copied, or passed to it so)
        SendOrder.Turn? turn = null;
        try
        {
            var prepared = PrepareAsync(topic, method, start, deadline, cancellationToken);
            turn = TurnFor(prepared.IsCompleted);
            if (turn is not null)
            {
                (request, copy, options) = OwnPayload(request, options, ownPayload);
                owned = true;
            }

            await prepared.ConfigureAwait(false);
            CheckSize(request.Length, method, topic, start);
            var idempotent = _resilience.IsIdempotent(method, options);
            byte[] response;
            if (_resilience.Applies(idempotent))
            {
                // Attempts send the payload again: a pooled copy, not the caller's memory.
                var stream = _streams.GetStream();
                stream.Write(request.Span);
                using var attempts = new CallAttempts(this, topic, method, correlationId == Guid.Empty ? Guid.NewGuid() : correlationId, idempotent,
                    idempotent && _resilience.Hedging, deadline, stream, _rawContentType, RawRpcSerializer.Instance, options, start);
                await WaitTurnAsync(turn, method, topic, start, deadline, cancellationToken).ConfigureAwait(false);
#pragma warning disable CA2012 // Awaited once, just below: the turn is given up in between, once the first attempt went out (before the call first yields, unless it waits for room).
                var resilient = ResilientAsync<byte[]>(attempts, activity, cancellationToken);
#pragma warning restore CA2012
                Leave(turn);
                response = await resilient.ConfigureAwait(false);
            }
            else
            {
                var call = turn is null ? TryBegin<byte[]>(topic, method, request.Length, RawRpcSerializer.Instance, start, deadline, correlationId, cancellationToken) : null;
                if (call is null)
                {
                    // Waiting (for its turn, or for room): the call's own copies, and calls made after this one queue behind it.
                    if (!owned)
                    {
                        (request, copy, options) = OwnPayload(request, options, ownPayload);
                        owned = true;
                    }

                    turn ??= _order.Enter();
                    await WaitTurnAsync(turn, method, topic, start, deadline, cancellationToken).ConfigureAwait(false);
                    call = await BeginAsync<byte[]>(topic, method, request.Length, RawRpcSerializer.Instance, start, deadline, cancellationToken, correlationId).ConfigureAwait(false);
                }

                Tag(activity, call.CorrelationId);
                if (_topics.IsWarm(topic))
                {
                    Send(call, topic, method, request.Span, _rawContentType, deadline, options);
                }
                else
                {
                    // The cold path holds the payload until the producer has the topic's metadata: a pooled copy, not the caller's memory.
                    var stream = _streams.GetStream();
                    stream.Write(request.Span);
                    SendCold(call, topic, method, stream, _rawContentType, deadline, options);
                }

                Leave(turn); // sent, in order: the next call in line may send
                copy?.Dispose(); // sent (copied by the producer) or handed over as a copy of its own
                copy = null;
                response = await call.AsValueTask().ConfigureAwait(false);
            }

            Finished(topic, method, start, null, activity);
            return response;
        }
        catch (RpcException e)
        {
            Finished(topic, method, start, e, activity);
            throw;
        }
        finally
        {
            Leave(turn);
            copy?.Dispose();
        }
    }

    /// <summary>
    /// The call's own copies of a raw payload and its key, for a call that waits (start, topic lookup, room) before it
    /// sends: the caller may reuse their memory once the call returned its first await. An oversized payload is not
    /// copied (the call fails on its size), nor one that is the call's own copy already (<paramref name="ownPayload"/>).
    /// </summary>
    private (ReadOnlyMemory<byte> Payload, RecyclableMemoryStream? Copy, RpcCallOptions Options) OwnPayload(ReadOnlyMemory<byte> payload, in RpcCallOptions options,
        bool ownPayload)
    {
        if (ownPayload || payload.Length > _options.MaxRequestBytes)
        {
            return (payload, null, options.WithOwnKey());
        }

        var copy = _streams.GetStream();
        copy.Write(payload.Span);
        return (PayloadMemory(copy), copy, options.WithOwnKey());
    }

    /// <summary>
    /// Sends a one-way request: no correlation ID, no reply. Completes when the broker has acknowledged the record.
    /// </summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <param name="topic">The service's request topic.</param>
    /// <param name="method">The method name.</param>
    /// <param name="request">The request; encoded with <see cref="RpcClientOptions.Serializer"/> before this returns its first await, not kept.</param>
    /// <param name="options">Deadline or timeout (travels in the deadline header and bounds the send), headers, key.</param>
    /// <param name="cancellationToken">Stops waiting for the acknowledgement.</param>
    /// <returns>A task that completes when the request is written.</returns>
    /// <exception cref="RpcException">The request could not be sent.</exception>
    public async ValueTask SendAsync<TRequest>(string topic, string method, TRequest request, RpcCallOptions options = default,
        CancellationToken cancellationToken = default)
    {
        var start = _time.GetTimestamp();
        var deadline = DeadlineOf(options);
        options = options.WithOwnKey(); // read after the first await, and kept by the producer until the record is in a batch
        var stream = _streams.GetStream();
        SendOrder.Turn? turn = null;
        try
        {
            Encode(_serializer, request, stream, method, topic, start); // before the first await: the caller may reuse the request once this returns
            var prepared = PrepareAsync(topic, method, start, deadline, cancellationToken, needsReplies: false);
            turn = TurnFor(prepared.IsCompleted);
            await prepared.ConfigureAwait(false);
            await WaitTurnAsync(turn, method, topic, start, deadline, cancellationToken).ConfigureAwait(false);
#pragma warning disable CA2012 // Awaited once, just below: the turn is given up in between, once the producer took the record (before the send first yields).
            var sending = SendOneWayAsync(topic, method, PayloadMemory(stream), _contentType, deadline, options, start, cancellationToken);
#pragma warning restore CA2012
            Leave(turn);
            await sending.ConfigureAwait(false);
        }
        finally
        {
            Leave(turn);
            stream.Dispose();
        }
    }

    /// <summary>Sends a one-way request with a raw payload. Completes when the broker has acknowledged the record.</summary>
    /// <param name="topic">The service's request topic.</param>
    /// <param name="method">The method name.</param>
    /// <param name="request">The payload; must stay unchanged until the returned task completes.</param>
    /// <param name="options">Deadline or timeout, headers, key.</param>
    /// <param name="cancellationToken">Stops waiting for the acknowledgement.</param>
    /// <returns>A task that completes when the request is written.</returns>
    /// <exception cref="RpcException">The request could not be sent.</exception>
    public async ValueTask SendAsync(string topic, string method, ReadOnlyMemory<byte> request, RpcCallOptions options = default,
        CancellationToken cancellationToken = default)
    {
        var start = _time.GetTimestamp();
        var deadline = DeadlineOf(options);
        options = options.WithOwnKey(); // read after the first await, and kept by the producer until the record is in a batch
        var prepared = PrepareAsync(topic, method, start, deadline, cancellationToken, needsReplies: false);
        var turn = TurnFor(prepared.IsCompleted);
        try
        {
            await prepared.ConfigureAwait(false);
            CheckSize(request.Length, method, topic, start);
            await WaitTurnAsync(turn, method, topic, start, deadline, cancellationToken).ConfigureAwait(false);
#pragma warning disable CA2012 // Awaited once, just below: the turn is given up in between, once the producer took the record (before the send first yields).
            var sending = SendOneWayAsync(topic, method, request, _rawContentType, deadline, options, start, cancellationToken);
#pragma warning restore CA2012
            Leave(turn);
            await sending.ConfigureAwait(false);
        }
        finally
        {
            Leave(turn);
        }
    }

    /// <summary>The payload as one span: a single-block stream's block, else its contiguous pooled buffer.</summary>
    private static ReadOnlySpan<byte> Payload(RecyclableMemoryStream stream)
    {
        var sequence = stream.GetReadOnlySequence();
        return sequence.IsSingleSegment ? sequence.FirstSpan : stream.GetBuffer().AsSpan(0, (int)stream.Length);
    }

    /// <summary>The payload as one memory (also the server's replies): a single-block stream's block, else its contiguous pooled buffer.</summary>
    internal static ReadOnlyMemory<byte> PayloadMemory(RecyclableMemoryStream stream)
    {
        var sequence = stream.GetReadOnlySequence();
        return sequence.IsSingleSegment ? sequence.First : stream.GetBuffer().AsMemory(0, (int)stream.Length);
    }

    private DateTimeOffset DeadlineOf(in RpcCallOptions options) =>
        options.Deadline ?? FarDeadline.After(_time.GetUtcNow(), options.Timeout ?? _options.DefaultTimeout);

    private TimeSpan Remaining(DateTimeOffset deadline) => deadline - _time.GetUtcNow();

    /// <summary>Checks arguments and state, starts the client if needed, and checks that the request topic exists.</summary>
    private ValueTask PrepareAsync(string topic, string method, long start, DateTimeOffset deadline, CancellationToken cancellationToken, bool needsReplies = true)
    {
        ArgumentNullException.ThrowIfNull(topic); // an empty one is a name Kafka does not take: InvalidArgument, below
        ArgumentException.ThrowIfNullOrEmpty(method);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var started = _start;
        if (needsReplies && (started is null || !started.IsCompletedSuccessfully))
        {
            // A name Kafka never takes fails before the start, which would first set up the replies (broker round trips).
            return _topics.Refusal(topic, method, start) is { } refused
                ? ValueTask.FromException(refused)
                : StartThenCheckAsync(topic, method, start, deadline, cancellationToken);
        }

        return _topics.EnsureAsync(topic, method, start, Remaining(deadline), cancellationToken);
    }

    private async ValueTask StartThenCheckAsync(string topic, string method, long start, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        try
        {
            // The start has a timeout of its own (StartTimeout); the call waits for it only up to its deadline or its
            // cancellation. (Without a token, StartAsync hands back the start itself: no wrapper is left unobserved.)
            await FarDeadline.WaitAsync(StartAsync(CancellationToken.None), Remaining(deadline), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw RpcErrors.DeadlineExceeded(method, topic, Guid.Empty, _time.GetElapsedTime(start), false);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (ObjectDisposedException)
        {
            throw RpcErrors.Disposed(method, topic, Guid.Empty, _time.GetElapsedTime(start), false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.ForCall(RpcStatus.Cancelled, "the caller cancelled the call", method, topic, Guid.Empty, _time.GetElapsedTime(start), false, ex);
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException)
        {
            throw RpcErrors.ForCall(RpcStatus.Unavailable, "the RPC client could not start: " + ex.Message, method, topic, Guid.Empty, _time.GetElapsedTime(start), false, ex);
        }

        await _topics.EnsureAsync(topic, method, start, Remaining(deadline), cancellationToken).ConfigureAwait(false);
    }

    private void Encode<TRequest>(IRpcSerializer serializer, TRequest request, RecyclableMemoryStream stream, string method, string topic, long start)
    {
        try
        {
            serializer.Serialize(request, stream);
        }
#pragma warning disable CA1031 // Any codec failure becomes the call's typed error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            throw RpcErrors.EncodeFailed(method, topic, _time.GetElapsedTime(start), ex);
        }

        CheckSize(stream.Length, method, topic, start);
    }

    private void CheckSize(long size, string method, string topic, long start)
    {
        if (size > _options.MaxRequestBytes)
        {
            throw RpcErrors.RequestTooLarge(method, topic, size, _options.MaxRequestBytes, _time.GetElapsedTime(start));
        }
    }

    /// <summary>Waits for room in the budget (up to the deadline), then enters a pooled call in the pending map.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PendingCall<TResponse>> BeginAsync<TResponse>(string topic, string method, int bytes, IRpcSerializer serializer, long start,
        DateTimeOffset deadline, CancellationToken cancellationToken, Guid correlationId = default, CallAttempts? attempts = null)
    {
        bool reserved;
        try
        {
            reserved = await _calls.ReserveAsync(bytes, Remaining(deadline), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            throw RpcErrors.ForCall(RpcStatus.Cancelled, "the caller cancelled the call", method, topic, Guid.Empty, _time.GetElapsedTime(start), false, ex);
        }
        catch (ObjectDisposedException)
        {
            throw RpcErrors.Disposed(method, topic, Guid.Empty, _time.GetElapsedTime(start), false);
        }

        if (!reserved)
        {
            var (calls, pendingBytes) = _calls.Reserved;
            throw RpcErrors.TooManyPending(method, topic, calls, pendingBytes, _time.GetElapsedTime(start));
        }

        return Enlist<TResponse>(topic, method, bytes, serializer, start, deadline, correlationId, attempts, cancellationToken);
    }

    /// <summary>The call entered in the pending map when there is room for it at once and no call waits for room; else null (nothing reserved).</summary>
    private PendingCall<TResponse>? TryBegin<TResponse>(string topic, string method, int bytes, IRpcSerializer serializer, long start, DateTimeOffset deadline,
        Guid correlationId, CancellationToken cancellationToken) =>
        _calls.TryReserveNow(bytes) ? Enlist<TResponse>(topic, method, bytes, serializer, start, deadline, correlationId, null, cancellationToken) : null;

    /// <summary>Enters a pooled call in the pending map; its room is reserved already.</summary>
    private PendingCall<TResponse> Enlist<TResponse>(string topic, string method, int bytes, IRpcSerializer serializer, long start, DateTimeOffset deadline,
        Guid correlationId, CallAttempts? attempts, CancellationToken cancellationToken)
    {
        var call = PendingCall<TResponse>.Rent();
        var remaining = Remaining(deadline);
        var deadlineTimestamp = _calls.TimestampAfter(remaining);
        _calls.Add(call, method, topic, serializer, start, deadlineTimestamp, bytes, cancellationToken, correlationId, attempts);
        return call;
    }

    /// <summary>
    /// A turn in the send order when the call has to keep its place behind calls made before it: it waits before it can
    /// send (it is not <paramref name="prepared"/>), or calls made before it wait. Null on the steady path.
    /// </summary>
    private SendOrder.Turn? TurnFor(bool prepared) => prepared && _order.IsEmpty ? null : _order.Enter();

    /// <summary>Waits, up to the call's deadline, until every call made before it that waited has sent (or failed).</summary>
    private ValueTask WaitTurnAsync(SendOrder.Turn? turn, string method, string topic, long start, DateTimeOffset deadline, CancellationToken cancellationToken) =>
        turn is null || (turn.Reached.IsCompleted && !turn.Closed) ? ValueTask.CompletedTask : WaitTurnSlowAsync(turn, method, topic, start, deadline, cancellationToken);

    private async ValueTask WaitTurnSlowAsync(SendOrder.Turn turn, string method, string topic, long start, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        try
        {
            await FarDeadline.WaitAsync(turn.Reached, Remaining(deadline), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw RpcErrors.DeadlineExceeded(method, topic, Guid.Empty, _time.GetElapsedTime(start), false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.ForCall(RpcStatus.Cancelled, "the caller cancelled the call", method, topic, Guid.Empty, _time.GetElapsedTime(start), false, ex);
        }

        if (turn.Closed)
        {
            throw RpcErrors.Disposed(method, topic, Guid.Empty, _time.GetElapsedTime(start), false);
        }
    }

    /// <summary>Gives up the call's turn (sent or failed): the next call in line may send. Idempotent; nothing without a turn.</summary>
    private void Leave(SendOrder.Turn? turn)
    {
        if (turn is not null)
        {
            _order.Leave(turn);
        }
    }

    /// <summary>The state the producer hands back with a request's outcome: which call, and which generation of it.</summary>
    private readonly record struct DeliveryToken(PendingCalls Calls, PendingCall Call, int Generation, bool Hedge);
}
