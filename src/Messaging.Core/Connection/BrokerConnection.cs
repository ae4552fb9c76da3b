using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Transport;

namespace Messaging.Connection;

/// <summary>
/// One connection to one broker, multiplexed: many requests in flight (up to the configured depth), answered
/// in order. It runs over an <see cref="IKafkaTransport"/> (a TCP socket unless a factory says otherwise) and knows
/// nothing of what the transport does underneath (TLS, for instance). One read loop owns every read
/// (<c>BrokerConnection.ReadLoop.cs</c>); one write lock serialises writes, and requests are encoded before it is taken.
/// </summary>
/// <remarks>
/// <para>Lifecycle: <see cref="ConnectAsync"/> connects, starts the read loop, and runs the ApiVersions handshake
/// (and the authenticator, when one is configured).
/// The connection then serves requests until it closes — because the broker went away, a response broke the
/// protocol, a request timed out, or it was disposed. Closing happens once: the transport is closed, and every pending
/// request completes exactly once with a typed error (<see cref="KafkaTimeoutException"/> for the one that timed
/// out, <see cref="KafkaConnectionException"/> for the rest, <see cref="ObjectDisposedException"/> on disposal).
/// A closed connection is not reused; the owner makes a new one.</para>
/// <para>Throttling (KIP-219): a broker that throttles a client answers at once with <c>throttle_time_ms</c> and
/// mutes the channel for that long. Whoever reads such a response reports it (<see cref="ReportThrottle"/>); the
/// connection then holds every request back until the mute has passed (<see cref="MutedUntil"/>), whichever client
/// sends it — producer, fetcher, metadata or admin — so the policy lives here once.</para>
/// <para>Ordering race: a request is enqueued in the FIFO and written under the same write lock, so the FIFO order
/// is the wire order. The read loop matches each response against the FIFO's head only; a response whose
/// correlation id is not the head's is a protocol violation that closes the connection.</para>
/// </remarks>
internal sealed partial class BrokerConnection : IAsyncDisposable
{
    private readonly IKafkaTransport _transport;
    private readonly ConnectionSettings _settings;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _inFlight;
    private readonly PendingRequestQueue _pending;
    private readonly ITimer _timeoutSweep;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private Exception? _failure;
    private int _closing;
    private int _transportDisposed;
    private int _nextCorrelationId;
    private long _lastActivity;

    // KIP-219: the timestamp (of the settings' clock) until which the broker mutes this connection (a response's throttle_time_ms); 0 when
    // not muted. Only ever extended while it lasts; the first sender that finds it passed resets it to 0.
    private long _mutedUntil;

    // When the write in progress started (a timestamp of the settings' clock; 0 when no write is in progress) and for which API: the
    // timeout sweep closes a connection whose write outlives the request timeout (a peer that stopped reading).
    private long _writeStartedAt;
    private ApiKey _writingApiKey;

    private BrokerConnection(IKafkaTransport transport, BrokerEndpoint endpoint, ConnectionSettings settings)
    {
        _transport = transport;
        _settings = settings;
        Endpoint = endpoint;
        Name = endpoint.DisplayName;
        _inFlight = new SemaphoreSlim(settings.MaxInFlight, settings.MaxInFlight);

        // One more than the in-flight limit: an exclusive window's request (re-authentication) goes behind a full set.
        _pending = new PendingRequestQueue(settings.MaxInFlight + 1);
        _lastActivity = settings.Clock.Now;

        // One timer per connection sweeps for overdue requests; a request carries no timer of its own.
        var period = TimeSpan.FromTicks(Math.Clamp(settings.RequestTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _timeoutSweep = settings.Clock.Provider.CreateTimer(static state => ((BrokerConnection)state!).OnSweepTimer(), this, period, period);
    }

    /// <summary>The broker this connection talks to.</summary>
    public BrokerEndpoint Endpoint { get; }

    /// <summary>How errors and logs name the broker.</summary>
    public string Name { get; }

    /// <summary>The versions agreed with this broker in the handshake.</summary>
    public NegotiatedApiVersions ApiVersions { get; private set; } = null!;

    /// <summary>The ApiVersions version the handshake ended up using.</summary>
    public short HandshakeVersion { get; private set; }

    /// <summary>False once the connection started closing.</summary>
    public bool IsOpen => Volatile.Read(ref _closing) == 0;

    /// <summary>Completes when the connection has closed; <see cref="Failure"/> says why.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Why the connection closed (null while open).</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Requests written and not yet answered.</summary>
    public int PendingCount
    {
        get
        {
            lock (_pending.SyncRoot)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>How long since the connection last sent or received anything (or a broker's throttle on it ended), when nothing is pending.</summary>
    public TimeSpan IdleTime => PendingCount > 0 ? TimeSpan.Zero : IdleFor();

    /// <summary>
    /// Opens a transport (<see cref="ConnectionSettings.TransportFactory"/>), starts the read loop, runs the
    /// ApiVersions handshake and then the authenticator (<see cref="ConnectionSettings.Authenticator"/>) if there is
    /// one, all within the connection setup timeout.
    /// </summary>
    /// <remarks>
    /// The transport's own setup (a TLS handshake) belongs in its factory; exchanges that are Kafka requests (SASL's
    /// SaslHandshake and SaslAuthenticate) are the authenticator's, over this connection's request path.
    /// </remarks>
    /// <exception cref="KafkaConnectionException">
    /// The broker could not be reached (the transport factory failed, with a socket, I/O, timeout or any other error) or the handshake failed. Retriable.
    /// </exception>
    public static async Task<BrokerConnection> ConnectAsync(BrokerEndpoint endpoint, ConnectionSettings settings, CancellationToken cancellationToken)
    {
        var clock = settings.Clock;
        var started = clock.Now;
        using var setupTimeout = clock.CancelAfter(settings.ConnectTimeout);
        using var setup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, setupTimeout.Token);
        IKafkaTransport transport;
        try
        {
            transport = await settings.TransportFactory.ConnectAsync(settings.TransportContextFor(endpoint), setup.Token).ConfigureAwait(false)
                ?? throw new InvalidOperationException(settings.TransportFactory.GetType().Name + ".ConnectAsync returned no transport.");
        }
        catch (Exception ex) when (ex is not KafkaException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Whatever a plugged-in factory threw (it may throw anything, like its transport's send), the broker could
            // not be reached: a retriable error, so a caller rotating over brokers tries the next one. A typed Kafka
            // error passes as it is (a TLS factory's KafkaAuthenticationException is deliberately not retriable), and
            // so does the caller's own cancellation.
            var cause = ex is OperationCanceledException ? new TimeoutException("the connection setup timeout passed") : ex;
            throw KafkaExceptions.ConnectFailed(endpoint.DisplayName, clock.Since(started), cause);
        }

        var connection = new BrokerConnection(transport, endpoint, settings);
        settings.Metrics.Connections.Add(1, settings.ClientTag);
        connection._readLoop = connection.ReadLoopAsync();
        try
        {
            (connection.ApiVersions, connection.HandshakeVersion) = await ApiVersionsHandshake.RunAsync(connection, settings, setup.Token).ConfigureAwait(false);

            // Authentication is a Kafka exchange too, so it comes after ApiVersions (which a broker answers before
            // authentication and which says what the exchange may use) and before any caller sees the connection.
            if (settings.Authenticator is { } authenticator)
            {
                await authenticator.AuthenticateAsync(connection, setup.Token).ConfigureAwait(false);
            }

            // Inside the try: a plugged-in logger that throws here fails the connect like any other step, and the
            // connection it made is disposed instead of staying open (socket, read loop, timer) with nobody holding it.
            var elapsedMs = clock.Since(started).TotalMilliseconds;
            settings.Log.Connected(connection.Name, elapsedMs, connection.HandshakeVersion);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not UnsupportedApiVersionException and not KafkaAuthenticationException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw KafkaExceptions.ConnectFailed(endpoint.DisplayName, clock.Since(started),
                ex is OperationCanceledException ? new TimeoutException("the handshake (ApiVersions, then authentication if configured) did not finish within the connection setup timeout") : ex);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>Sends a request at the version negotiated for its API and decodes the response.</summary>
    /// <remarks>
    /// The read loop decodes the response into a pooled, typed value-task source, so the steady state allocates only
    /// the response object. For responses that slice the frame (Fetch records), use <c>SendAsync(request, version, timeout, …)</c>
    /// and keep the frame.
    /// </remarks>
    /// <exception cref="UnsupportedApiVersionException">The broker does not support the API at a version we speak.</exception>
    public ValueTask<TResponse> SendAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaResponse<TResponse>
    {
        if (IsMuted)
        {
            return SendWhenUnmutedAsync<TRequest, TResponse>(request, cancellationToken);
        }

        short version;
        ContiguousBufferWriter encoded;
        int correlationId;
        try
        {
            version = ApiVersions.VersionFor(TRequest.ApiKey);
            encoded = Encode(request, version, sizeHint: 0, out correlationId);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<TResponse>(ex);
        }

        var pending = DecodingPendingRequest<TResponse>.Rent(this, TRequest.ApiKey, version, correlationId, _settings.Clock, _settings.RequestTimeout);
        return TryDispatchNow(pending, encoded, cancellationToken) ? pending.AsValueTask() : SendSlowAsync(pending, encoded, cancellationToken);
    }

    /// <summary>The limits responses are decoded with.</summary>
    internal ProtocolLimits Limits => _settings.Limits;

    /// <summary>
    /// The timestamp (of the client's clock) until which the broker muted this connection (KIP-219), or 0 when it is not muted. A sender with
    /// other work to do meanwhile (the producer keeps batching) reads it rather than waiting inside a send.
    /// </summary>
    public long MutedUntil => Volatile.Read(ref _mutedUntil);

    /// <summary>
    /// Records that the broker throttled a request by <paramref name="throttleTimeMs"/> (a response's
    /// <c>throttle_time_ms</c>; nothing happens for 0): logs it, and mutes the connection — no request is sent on it
    /// until the throttle has passed, capped at the request timeout (a longer pause is no quota a broker would set,
    /// and would only stall the client). Responses decoded by the connection report themselves; callers that decode
    /// raw frames (Fetch, Produce) call it.
    /// </summary>
    public void ReportThrottle(ApiKey apiKey, int throttleTimeMs)
    {
        if (throttleTimeMs <= 0)
        {
            return;
        }

        _settings.Log.Throttled(Name, apiKey, throttleTimeMs);
        var pauseMs = Math.Min(throttleTimeMs, _settings.RequestTimeout.TotalMilliseconds);
        var until = _settings.Clock.After(TimeSpan.FromMilliseconds(pauseMs));

        // Two throttled responses may race (several requests in flight): the later deadline wins.
        var current = Volatile.Read(ref _mutedUntil);
        while (current < until)
        {
            var seen = Interlocked.CompareExchange(ref _mutedUntil, until, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }
    }

    /// <summary>
    /// Completes once the connection is not muted (at once when it is not), or when it closes (the send that follows
    /// then fails with the connection's error).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired while muted.</exception>
    public ValueTask WaitWhileMutedAsync(CancellationToken cancellationToken) =>
        IsMuted ? WaitWhileMutedSlowAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <summary>True while a throttle mutes the connection; resets an expired mute so the hot path reads one field again.</summary>
    private bool IsMuted
    {
        get
        {
            var until = Volatile.Read(ref _mutedUntil);
            if (until == 0)
            {
                return false;
            }

            if (_settings.Clock.Now < until)
            {
                return IsOpen;
            }

            // Passed. A report racing in sets a later deadline, which the exchange then leaves alone.
            Interlocked.CompareExchange(ref _mutedUntil, 0, until);
            return false;
        }
    }

    private async ValueTask WaitWhileMutedSlowAsync(CancellationToken cancellationToken)
    {
        // Loops because another throttled response may extend the mute while we wait.
        while (IsMuted)
        {
            var until = MutedUntil;
            if (until - _settings.Clock.Now <= 0)
            {
                continue;
            }

            // Ends at the deadline, on the caller's cancellation, or when the connection closes; the linked source is
            // cancelled afterwards so a delay that lost to the close does not keep its timer.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = _settings.Clock.DelayUntil(until, wait.Token);
            await Task.WhenAny(delay, Closed).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResponse> SendWhenUnmutedAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaResponse<TResponse>
    {
        await WaitWhileMutedSlowAsync(cancellationToken).ConfigureAwait(false);
        return await SendAsync<TRequest, TResponse>(request, cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ResponseFrame> SendWhenUnmutedAsync<TRequest>(TRequest request, short version, TimeSpan timeout, IResponseBufferPool? responseBuffers, int sizeHint, CancellationToken cancellationToken)
        where TRequest : IKafkaMessage<TRequest>
    {
        await WaitWhileMutedSlowAsync(cancellationToken).ConfigureAwait(false);
        return await SendAsync(request, version, timeout, responseBuffers, sizeHint, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a request at <paramref name="version"/> and returns the raw response frame, which the caller must dispose.</summary>
    /// <param name="request">The request body.</param>
    /// <param name="version">The version to encode it at.</param>
    /// <param name="timeout">How long to wait for the response (the request timeout, plus e.g. a Fetch's max wait).</param>
    /// <param name="cancellationToken">Cancels the wait. The request may still reach the broker; its late response is read and dropped.</param>
    public ValueTask<ResponseFrame> SendAsync<TRequest>(TRequest request, short version, TimeSpan timeout, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest> =>
        SendAsync(request, version, timeout, null, sizeHint: 0, cancellationToken);

    /// <summary>Sends a request at <paramref name="version"/> and returns the raw response frame, which the caller must dispose.</summary>
    /// <param name="request">The request body.</param>
    /// <param name="version">The version to encode it at.</param>
    /// <param name="timeout">How long to wait for the response.</param>
    /// <param name="sizeHint">About how many bytes the encoded request takes (a Produce request's batches), so its buffer is sized once.</param>
    /// <param name="cancellationToken">Cancels the wait. The request may still reach the broker; its late response is read and dropped.</param>
    public ValueTask<ResponseFrame> SendAsync<TRequest>(TRequest request, short version, TimeSpan timeout, int sizeHint, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest> =>
        SendAsync(request, version, timeout, null, sizeHint, cancellationToken);

    /// <summary>
    /// Sends a request at <paramref name="version"/> and returns the raw response frame, whose buffer comes from
    /// <paramref name="responseBuffers"/> (when it accepts the frame's size); the caller must dispose the frame.
    /// </summary>
    /// <param name="request">The request body.</param>
    /// <param name="version">The version to encode it at.</param>
    /// <param name="timeout">How long to wait for the response (the request timeout, plus e.g. a Fetch's max wait).</param>
    /// <param name="responseBuffers">Where the response frame's buffer comes from, or null for the read loop's default.</param>
    /// <param name="cancellationToken">Cancels the wait. The request may still reach the broker; its late response is read and dropped.</param>
    public ValueTask<ResponseFrame> SendAsync<TRequest>(TRequest request, short version, TimeSpan timeout, IResponseBufferPool? responseBuffers, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest> =>
        SendAsync(request, version, timeout, responseBuffers, sizeHint: 0, cancellationToken);

    private ValueTask<ResponseFrame> SendAsync<TRequest>(TRequest request, short version, TimeSpan timeout, IResponseBufferPool? responseBuffers, int sizeHint, CancellationToken cancellationToken)
        where TRequest : IKafkaMessage<TRequest>
    {
        // Waits before encoding, so the request's timeout counts from when it may actually go out.
        if (IsMuted)
        {
            return SendWhenUnmutedAsync(request, version, timeout, responseBuffers, sizeHint, cancellationToken);
        }

        ContiguousBufferWriter encoded;
        int correlationId;
        try
        {
            encoded = Encode(request, version, sizeHint, out correlationId);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<ResponseFrame>(ex);
        }

        var pending = FramePendingRequest.Rent(TRequest.ApiKey, version, correlationId, _settings.Clock, timeout, responseBuffers);
        return TryDispatchNow(pending, encoded, cancellationToken) ? pending.AsValueTask() : SendSlowAsync(pending, encoded, cancellationToken);
    }

    /// <summary>Encodes a request (header and body, size-prefixed) into a pooled buffer, before any lock is taken.</summary>
    private ContiguousBufferWriter Encode<TRequest>(TRequest request, short version, int sizeHint, out int correlationId)
        where TRequest : IKafkaMessage<TRequest>
    {
        ThrowIfClosed();
        correlationId = Interlocked.Increment(ref _nextCorrelationId);
        var encoded = RequestBuffers.Rent(sizeHint);
        try
        {
            KafkaFrames.WriteRequest(encoded, request, version, correlationId, _settings.ClientId);
            return encoded;
        }
        catch
        {
            RequestBuffers.Return(encoded);
            throw;
        }
    }

    /// <summary>
    /// Sends a request that gets no response (a Produce with acks=0): it is written, never queued. Completes when the
    /// transport took the bytes; a write that outlives the request timeout closes the connection and fails this call.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendWithoutResponseAsync<TRequest>(TRequest request, short version, int sizeHint = 0, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest>
    {
        await WaitWhileMutedAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfClosed();
        var encoded = RequestBuffers.Rent(sizeHint);
        try
        {
            KafkaFrames.WriteRequest(encoded, request, version, Interlocked.Increment(ref _nextCorrelationId), _settings.ClientId);
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            RequestBuffers.Return(encoded);
            throw;
        }

        if (!TryStartUnqueuedWrite())
        {
            _writeLock.Release();
            RequestBuffers.Return(encoded);
            throw ClosedError();
        }

        // The write releases the lock and the buffer. Only a failed write is this call's failure: bytes that reached the
        // transport were sent, even if the connection closes right after (acks=0 must not be retried into a duplicate).
        if (!await WriteAndReleaseAsync(encoded, TRequest.ApiKey).ConfigureAwait(false))
        {
            throw ClosedError();
        }
    }

    /// <summary>Closes the connection; pending requests fail with <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        Close(KafkaExceptions.Disposed("The connection to " + Name));
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The read loop reports through Close; nothing more to surface here.
        }

        // Close() already ended the transport's I/O; disposing (once) releases whatever else it holds, now that the
        // read loop no longer uses it.
        if (Interlocked.Exchange(ref _transportDisposed, 1) == 0)
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection with <paramref name="reason"/> (a response that does not decode, from the read loop).</summary>
    internal void CloseBecause(Exception reason) => Close(reason);

    /// <summary>Closes the connection because something outside it decided so (e.g. the broker left the metadata).</summary>
    public void Close(string reason) => Close(KafkaExceptions.ConnectionClosed(Name, new IOException(reason)));

    /// <summary>
    /// Closes the connection if nothing is pending on it and it sent and received nothing for longer than
    /// <paramref name="maxIdle"/>; true if it closed. <paramref name="reason"/> says why (default: idleness).
    /// </summary>
    /// <remarks>
    /// Race: a sender may be handed this connection while the idle sweep decides. The decision and the start of
    /// closing happen under the FIFO's lock, which a sender enqueues under (<see cref="TryEnqueue"/>) before it writes:
    /// either its request went into the FIFO first (the connection is not idle and stays open), or it finds the
    /// connection closing and fails before a byte of it is written. A request without response (acks=0) is never in
    /// the FIFO: its write in progress, marked under the same lock (<see cref="TryStartUnqueuedWrite"/>), keeps the
    /// connection open the same way. So an idle close never fails a request the broker
    /// may have received, whose retry could apply it twice.
    /// </remarks>
    public bool CloseIfIdle(TimeSpan maxIdle, string reason = "idle for longer than connections.max.idle.ms")
    {
        lock (_pending.SyncRoot)
        {
            if (_pending.Count > 0 || Volatile.Read(ref _writeStartedAt) != 0 || IdleFor() <= maxIdle
                || Interlocked.Exchange(ref _closing, 1) != 0)
            {
                return false;
            }
        }

        CloseOnce(KafkaExceptions.ConnectionClosed(Name, new IOException(reason)), null, 0);
        return true;
    }

    /// <summary>
    /// Time since the last send or receive, or since the end of a throttle mute if later (negative while muted). A
    /// muted connection is not idle: its senders wait for the mute to end, and closing it would both fail them and
    /// drop the broker's throttle — a new connection would send at once what the broker asked us to hold back.
    /// </summary>
    private TimeSpan IdleFor() => _settings.Clock.Since(Math.Max(Volatile.Read(ref _lastActivity), Volatile.Read(ref _mutedUntil)));

    /// <summary>
    /// The fast path: with a free in-flight slot and an idle writer, dispatches at once and returns true, so the caller
    /// can hand back the pending request's own ValueTask with no async state machine in between. A caller that has
    /// already cancelled goes to the slow path, whose cancellable waits fail it before a byte of it is written.
    /// </summary>
    private bool TryDispatchNow(IPendingRequest pending, ContiguousBufferWriter encoded, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested || !_inFlight.Wait(0, CancellationToken.None))
        {
            return false;
        }

        if (!_writeLock.Wait(0, CancellationToken.None))
        {
            _inFlight.Release();
            return false;
        }

        Dispatch(pending, encoded, cancellationToken);
        return true;
    }

    /// <summary>The slow path: wait for an in-flight slot and for the writer, both cancellable, then dispatch.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TResult> SendSlowAsync<TResult>(PendingRequest<TResult> pending, ContiguousBufferWriter encoded, CancellationToken cancellationToken)
    {
        var holdsSlot = false;
        try
        {
            await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
            holdsSlot = true;
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (holdsSlot)
            {
                _inFlight.Release();
            }

            // Never enqueued: failing it here lets go of the FIFO's share, the awaiter's goes when the error is read below.
            RequestBuffers.Return(encoded);
            pending.TrySetException(ex);
            return await pending.AsValueTask().ConfigureAwait(false);
        }

        // Its timeout counts from here, as a muted request's counts from the end of the mute: a request that waited
        // longer than its timeout for a slot would otherwise be overdue the moment it is written, and the sweep would
        // close the connection, failing every request on it, over a request the broker just got.
        pending.RestartTimeout(_settings.Clock);
        Dispatch(pending, encoded, cancellationToken);
        return await pending.AsValueTask().ConfigureAwait(false);
    }

    /// <summary>
    /// With an in-flight slot and the write lock held: enqueues the request (FIFO order = wire order, both under the
    /// write lock), registers the caller's cancellation, and starts the write. The write finishes on its own — it
    /// owns the lock and the buffer from here — so a caller that cancels stops waiting at once, while its bytes still
    /// go out whole and its late response is read and dropped.
    /// </summary>
    private void Dispatch(IPendingRequest pending, ContiguousBufferWriter encoded, CancellationToken cancellationToken)
    {
        if (!TryEnqueue(pending))
        {
            // Closed while we waited: fail it here; the FIFO never owned it.
            _writeLock.Release();
            _inFlight.Release();
            RequestBuffers.Return(encoded);
            pending.TrySetException(ClosedError());
            return;
        }

        _settings.Metrics.RequestsInFlight.Add(1, _settings.ClientTag);
        pending.RegisterCancellation(cancellationToken);
        var write = WriteAndReleaseAsync(encoded, pending.ApiKey);
        if (!write.IsCompleted)
        {
            // Nobody awaits the write: it reports failure by closing the connection, which fails the FIFO.
            _ = write.AsTask();
        }
    }

    /// <summary>
    /// Puts a request in the FIFO unless the connection is closing: checked under the FIFO's lock, which <c>Close</c>
    /// drains the FIFO under, so a request is either failed by <c>Close</c> or never enqueued (the caller fails it).
    /// </summary>
    private bool TryEnqueue(IPendingRequest pending)
    {
        lock (_pending.SyncRoot)
        {
            if (!IsOpen)
            {
                return false;
            }

            _pending.Enqueue(pending);
            return true;
        }
    }

    /// <summary>
    /// For a request that is never queued (acks=0): marks its write as started unless the connection is closing, under
    /// the FIFO's lock as <see cref="TryEnqueue"/> does, so <see cref="CloseIfIdle"/> either closed first (the caller
    /// fails before a byte is written) or sees the write in progress and leaves the connection open for it.
    /// </summary>
    private bool TryStartUnqueuedWrite()
    {
        lock (_pending.SyncRoot)
        {
            if (!IsOpen)
            {
                return false;
            }

            Volatile.Write(ref _writeStartedAt, _settings.Clock.Now);
            return true;
        }
    }

    /// <summary>
    /// Writes one encoded request with the write lock held, then releases the lock (unless
    /// <paramref name="keepWriteLock"/>: an exclusive window keeps it, and its buffer is wiped) and returns the buffer. Returns false when the
    /// write failed (the connection is then closed, which fails everything pending on it).
    /// </summary>
    private async ValueTask<bool> WriteAndReleaseAsync(ContiguousBufferWriter encoded, ApiKey apiKey, bool keepWriteLock = false)
    {
        _writingApiKey = apiKey;
        Volatile.Write(ref _writeStartedAt, _settings.Clock.Now);
        try
        {
            var bytes = encoded.WrittenMemory;
            await _transport.SendAsync(bytes, CancellationToken.None).ConfigureAwait(false);
            Volatile.Write(ref _lastActivity, _settings.Clock.Now);
            _settings.Metrics.BytesSent.Add(bytes.Length, Diagnostics.KafkaMetrics.ApiTag(apiKey), _settings.ClientTag);
            return true;
        }
        catch (Exception ex)
        {
            // Whatever the transport threw (a plugged-in one may throw anything), the stream is no longer usable: the
            // connection closes, failing everything pending on it with a retriable error.
            Close(ex);
            return false;
        }
        finally
        {
            Volatile.Write(ref _writeStartedAt, 0);
            if (!keepWriteLock)
            {
                _writeLock.Release();
            }
            else
            {
                // An exclusive window's request is SASL: its bytes are a password (PLAIN), a bearer token or a proof.
                // The pooled buffer goes on to later requests, which overwrite only what they write, so it is wiped
                // here rather than keeping the credential in memory for the life of the process.
                encoded.WrittenSpan.Clear();
            }

            RequestBuffers.Return(encoded);
        }
    }

    private void ThrowIfClosed()
    {
        if (!IsOpen)
        {
            throw ClosedError();
        }
    }

    private Exception ClosedError() =>
        Failure is ObjectDisposedException disposed ? disposed : KafkaExceptions.ConnectionClosed(Name, Failure);

    /// <summary>The sweep's timer callback: nothing may escape it, an exception on a timer thread ends the process.</summary>
    private void OnSweepTimer()
    {
        try
        {
            SweepForTimeouts();
        }
        catch (Exception)
        {
            // Only a plugged-in logger throwing while the close is logged gets here: the connection is closed and its
            // requests failed all the same (CloseOnce), and there is nowhere left to report the logger's failure.
        }
    }

    /// <summary>Fails the first overdue request with a timeout and closes the connection (the broker may answer it still).</summary>
    private void SweepForTimeouts()
    {
        if (!IsOpen)
        {
            return;
        }

        var clock = _settings.Clock;
        var now = clock.Now;
        IPendingRequest? overdue = null;
        int overdueCorrelationId = 0;
        ApiKey overdueApi = default;
        short overdueVersion = 0;
        long started = 0, deadline = 0;
        var others = 0;
        lock (_pending.SyncRoot)
        {
            for (var i = 0; i < _pending.Count; i++)
            {
                var request = _pending.At(i);
                if (now > request.DeadlineTimestamp)
                {
                    // Read under the lock: once it is released the request may be answered, recycled to its pool and
                    // reused for another request on this connection before Close runs.
                    overdue = request;
                    overdueCorrelationId = request.CorrelationId;
                    overdueApi = request.ApiKey;
                    overdueVersion = request.Version;
                    started = request.StartTimestamp;
                    deadline = request.DeadlineTimestamp;
                    others = _pending.Count - 1;
                    break;
                }
            }
        }

        if (overdue is not null)
        {
            var elapsed = clock.Between(started, now);
            var timeout = clock.Between(started, deadline);
            Close(KafkaExceptions.Timeout(overdueApi, overdueVersion, Name, elapsed, timeout, others), overdue, overdueCorrelationId);
            return;
        }

        // A write that has not finished within the request timeout: the broker stopped reading.
        var writeStarted = Volatile.Read(ref _writeStartedAt);
        if (writeStarted != 0 && clock.Between(writeStarted, now) > _settings.RequestTimeout)
        {
            Close(KafkaExceptions.WriteTimeout(_writingApiKey, Name, clock.Between(writeStarted, now), _settings.RequestTimeout));
        }
    }

    /// <summary>
    /// Closes once: records why, closes the transport (ending the read loop and any write), and fails every pending
    /// request exactly once — <paramref name="timedOut"/> with <paramref name="reason"/>, the rest with an error
    /// that says what happened to the connection.
    /// </summary>
    /// <param name="reason">Why: what every pending request fails with (wrapped, unless it is the one that timed out).</param>
    /// <param name="timedOut">The request that timed out, if that is why; it gets <paramref name="reason"/> itself.</param>
    /// <param name="timedOutCorrelationId">Its correlation id: the pooled object may have been answered and reused since the sweep saw it.</param>
    private void Close(Exception reason, IPendingRequest? timedOut = null, int timedOutCorrelationId = 0)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        CloseOnce(reason, timedOut, timedOutCorrelationId);
    }

    /// <summary>The rest of <see cref="Close(Exception, IPendingRequest?, int)"/>, run once by whoever set <c>_closing</c>.</summary>
    private void CloseOnce(Exception reason, IPendingRequest? timedOut, int timedOutCorrelationId)
    {
        Volatile.Write(ref _failure, reason);
        _timeoutSweep.Dispose();
        _transport.Close();

        // Fail everything still pending. New senders see IsOpen == false and do not enqueue (checked under the same lock).
        while (true)
        {
            IPendingRequest request;
            lock (_pending.SyncRoot)
            {
                if (_pending.Count == 0)
                {
                    break;
                }

                request = _pending.Dequeue();
            }

            var isTimedOut = ReferenceEquals(request, timedOut) && request.CorrelationId == timedOutCorrelationId;
            var holdsSlot = !request.OutsideInFlightLimit;
            request.TrySetException(isTimedOut ? reason : PendingError(request, reason));
            _settings.Metrics.RequestsInFlight.Add(-1, _settings.ClientTag);
            if (holdsSlot)
            {
                _inFlight.Release();
            }
        }

        _settings.Metrics.Connections.Add(-1, _settings.ClientTag);
        try
        {
            if (reason is not ObjectDisposedException)
            {
                _settings.Log.Disconnected(Name, reason.Message);
            }
        }
        finally
        {
            // A plugged-in logger may throw (to our caller): the connection is closed all the same, and whoever awaits that must see it.
            _closed.TrySetResult();
        }
    }

    private Exception PendingError(IPendingRequest request, Exception reason) => reason switch
    {
        ObjectDisposedException => KafkaExceptions.Disposed("The connection to " + Name),
        KafkaTimeoutException timeout => KafkaExceptions.ClosedBecauseOtherRequestTimedOut(request.ApiKey, Name, timeout),
        _ => KafkaExceptions.ConnectionLost(request.ApiKey, Name, reason),
    };
}
