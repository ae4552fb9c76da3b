using Microsoft.IO;

namespace Messaging.Rpc;

/// <summary>
/// Serves RPC methods over Kafka: requests are read from the request topics as a consumer group (spread over the
/// server's instances by partition), each is handled by the method its header names, and the reply goes to the
/// caller's reply topic and partition with the request's key and correlation ID.
/// </summary>
/// <remarks>
/// <para><b>Methods.</b> Map them before starting: <see cref="Map{TRequest, TResponse}"/> (decoded and encoded by
/// <see cref="RpcServerOptions.Serializer"/>) or <see cref="MapRaw"/> (bytes in, bytes out).</para>
/// <para><b>Outcomes.</b> A reply carries the handler's result, or a status: <see cref="RpcStatus.Unimplemented"/> for a
/// method the server does not have, <see cref="RpcStatus.InvalidArgument"/> for a request it cannot decode or whose
/// headers are garbled, <see cref="RpcStatus.Internal"/> with the exception's type and message when a handler throws,
/// and the status of an <see cref="RpcException"/> a handler throws. A request whose deadline passed before its
/// handler could run is skipped (<see cref="RpcServerOptions.ExpiredRequests"/>). No request content stops the
/// server: what cannot be answered is counted and dropped.</para>
/// <para><b>Limits.</b> At most <see cref="RpcServerOptions.MaxConcurrentRequests"/> requests at once, and at most
/// <see cref="RpcServerOptions.MaxConcurrentRequestsPerMethod"/> of one method; beyond them the server takes no more
/// records (its partition is paused while a method is full), so nothing queues without bound.</para>
/// <para><b>At-least-once.</b> A partition's offset is committed only up to the last request of its longest answered
/// prefix — answered meaning its reply was acknowledged by the broker (or it needed none) — periodically, when the
/// partition is revoked and at shutdown. A server that dies leaves the rest to be handled again by the next owner.</para>
/// <para><b>Shutdown.</b> <see cref="DisposeAsync"/> stops taking records, lets running handlers finish and send their
/// replies within <see cref="RpcServerOptions.DrainTimeout"/> (then cancels them), commits, and leaves the group.</para>
/// </remarks>
public sealed class RpcServer : IAsyncDisposable
{
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(1);

    private readonly RpcServerOptions _options;
    private readonly MethodRegistry _methods = new();
    private readonly ReplyTopicNames _replyTopics = new();
    private readonly RecyclableMemoryStreamManager _streams;
    private readonly ServerCounters _counters = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly KafkaProducer _producer;
    private readonly KafkaConsumer _consumer;
    private readonly KafkaAdminClient _admin;
    private readonly KnownTopics _knownReplyTopics;
    private readonly RequestLoop _loop;
    private readonly HandlerPipeline _handling;
    private readonly RequestDispatcher _dispatcher;
    private readonly Lock _lifecycle = new(); // start and dispose decide under it: a start racing a dispose either runs before it (and is stopped) or not at all
    private int _started;
    private int _disposed;

    /// <summary>Creates the server; it joins its group and starts taking requests in <see cref="StartAsync"/>.</summary>
    /// <param name="options">The settings; validated now.</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public RpcServer(RpcServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options = options.Copy(); // read at start and per request: the caller's later changes (for its next server, say) must not reach this one
        _options = options;
        _handling = new HandlerPipeline([.. options.Interceptors], options.PropagateCallContext);
        _streams = options.Pools.CreateManager();
        var wire = new RpcWire(options.Headers);
        _producer = new KafkaProducer(options.Producer);
        KafkaConsumer? consumer = null;
        try
        {
            _consumer = consumer = new KafkaConsumer(options.Consumer);
            _admin = new KafkaAdminClient(options.Admin);
        }
        catch
        {
            // A nested client that cannot be built (its TLS files, say): the ones built before it run until disposed.
            _ = QuietDisposal.DisposeAsync(_producer, consumer);
            throw;
        }

        _knownReplyTopics = new KnownTopics(_admin, options.TimeProvider, server: true);
        var sink = new ProducerReplySink(_producer, _knownReplyTopics, options.Producer.MaxBlock, options.TimeProvider);
        var dispatcher = _dispatcher = new RequestDispatcher(options, wire, sink, _streams, _counters, _abort.Token);
        _loop = new RequestLoop(options, _consumer, new RequestReader(wire, _methods, _replyTopics), dispatcher, _counters);
    }

    /// <summary>The server's counters.</summary>
    public RpcServerStatistics Statistics => _counters.Snapshot(_loop.InFlight);

    /// <summary>The request partitions this instance has now (empty before it joined its group).</summary>
    public IReadOnlyCollection<TopicPartition> Assignment => _loop.Assignment;

    /// <summary>The pooled reply streams (for tests: rents and returns).</summary>
    internal RecyclableMemoryStreamManager Streams => _streams;

    /// <summary>
    /// Maps <paramref name="method"/> to a typed handler: the request is decoded with
    /// <see cref="RpcServerOptions.Serializer"/>, the handler's result encoded as the reply.
    /// </summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <typeparam name="TResponse">The reply's type.</typeparam>
    /// <param name="method">The method name callers use.</param>
    /// <param name="handler">The handler; it may throw <see cref="RpcException"/> to answer with a status of its choice.</param>
    /// <returns>This server, to map more.</returns>
    /// <exception cref="InvalidOperationException">The server has started, or the method is already mapped.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public RpcServer Map<TRequest, TResponse>(string method, Func<TRequest, RpcServerContext, ValueTask<TResponse>> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _methods.Add(new TypedRpcMethod<TRequest, TResponse>(method, _options.LimitFor(method), _handling, _options.Serializer, handler));
        return this;
    }

    /// <summary>
    /// Maps <paramref name="method"/> to a raw handler: it gets the request payload (a pooled slice, valid until its
    /// task completes) and returns the reply payload (read once the task completes and copied into the reply's record
    /// before the server goes on: return the request payload itself for an echo, but nothing you recycle in the
    /// handler's own <c>finally</c>).
    /// </summary>
    /// <param name="method">The method name callers use.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>This server, to map more.</returns>
    /// <exception cref="InvalidOperationException">The server has started, or the method is already mapped.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public RpcServer MapRaw(string method, Func<ReadOnlyMemory<byte>, RpcServerContext, ValueTask<ReadOnlyMemory<byte>>> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _methods.Add(new RawRpcMethod(method, _options.LimitFor(method), _handling, handler));
        return this;
    }

    /// <summary>Subscribes to the request topics (joining the group) and starts taking requests. Call once, after mapping.</summary>
    /// <param name="cancellationToken">Not used beyond an early check: joining goes on in the background.</param>
    /// <returns>A completed task once the subscription is in place.</returns>
    /// <exception cref="InvalidOperationException">No method is mapped, or the server was started already.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        StartChecked?.Invoke();
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lifecycle)
        {
            // Checked again here: a dispose that began after the check above must not miss a loop started now.
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (_methods.Count == 0)
            {
                throw new InvalidOperationException("Map at least one method before starting the RPC server.");
            }

            if (_started != 0)
            {
                throw new InvalidOperationException("The RPC server was started already.");
            }

            _methods.Freeze();
            _loop.Start();
            Volatile.Write(ref _started, 1);
        }

        return Task.CompletedTask;
    }

    /// <summary>Test hook: the request loop has ended (or never started).</summary>
    internal bool LoopEnded => _loop.HasEnded;

    /// <summary>Test hook: runs in <see cref="StartAsync"/> just after its first check for disposal (to make a dispose race it).</summary>
    internal Action? StartChecked { get; set; }

    /// <summary>
    /// Stops gracefully: takes no more records, waits up to <see cref="RpcServerOptions.DrainTimeout"/> for running
    /// handlers and their replies (then cancels them), commits what was answered, leaves the group and closes. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        bool started;
        lock (_lifecycle)
        {
            if (_disposed != 0)
            {
                return;
            }

            Volatile.Write(ref _disposed, 1);
            started = _started != 0;
        }

        if (started)
        {
            await _loop.StopFetchingAsync().ConfigureAwait(false);
            if (!await _loop.DrainAsync(_options.DrainTimeout).ConfigureAwait(false))
            {
                // Out of patience: handlers see their token fire; their replies may still go out in the grace period.
                await _abort.CancelAsync().ConfigureAwait(false);
                await _loop.DrainAsync(CancelGrace).ConfigureAwait(false);
            }

            // Bounded by one timer step: a token source's timer refuses longer due times (and DrainTimeout may be TimeSpan.MaxValue).
            var commitWait = _options.DrainTimeout < FarDeadline.MaxStep ? _options.DrainTimeout + CancelGrace : FarDeadline.MaxStep;
            using var commitTimeout = new CancellationTokenSource(commitWait, _options.TimeProvider);
            await _loop.CommitAsync(commitTimeout.Token).ConfigureAwait(false);
        }

        await _consumer.DisposeAsync().ConfigureAwait(false); // leaves the group
        await _producer.DisposeAsync().ConfigureAwait(false);
        await _admin.DisposeAsync().ConfigureAwait(false);
        await _loop.DisposeAsync().ConfigureAwait(false);
        _replyTopics.Clear();
        _knownReplyTopics.Clear();
        _dispatcher.ReleaseCache(); // stored replies are payload bytes: a disposed server holds none
        _methods.Release(); // nor the application's handlers, or what they captured
        _abort.Dispose();
    }

    /// <summary>
    /// Test hook: stops as a hung or crashed process looks to the group — it takes no more records, commits nothing
    /// more, cancels running handlers, and does not leave: the group moves its partitions once the member's
    /// max-poll-interval runs out. Dispose the server afterwards.
    /// </summary>
    internal async Task CrashAsync()
    {
        await _abort.CancelAsync().ConfigureAwait(false);
        await _loop.StopFetchingAsync().ConfigureAwait(false);
    }
}
