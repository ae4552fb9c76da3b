using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Threading;

namespace Messaging.Testing.Security;

/// <summary>
/// One client connection through the proxy: TLS (when configured) toward the client, plain TCP toward the broker, SASL
/// answered here, and every frame passed on through the listener's faults. Requests are read whole (size prefix, then
/// the frame); their API and version are remembered in order, so each response can be rewritten when it names brokers.
/// </summary>
/// <remarks>
/// <para>Order: a broker answers a connection's requests in order, and so does the proxy — a SASL request (or a
/// CreateTopics or DeleteTopics the proxy answers, see <see cref="KafkaProxyOptions.AnswerTopicAdministration"/>) is
/// answered only once every request read before it has had its response passed on (the client may send one behind
/// requests in flight when it authenticates again).</para>
/// <para>Sessions (KIP-368), as Kafka enforces them: with a session lifetime, a request other than SASL that arrives
/// after the session ended closes the connection; a client whose SaslAuthenticate is v1 or later may authenticate
/// again on the open connection (same mechanism, same user), which starts a new session; one on v0 may not.</para>
/// </remarks>
internal sealed class ProxyConnection(KafkaProxy proxy, ProxyListener listener, Socket client) : IDisposable
{
    private const int MaxFrameBytes = 64 << 20;
    private readonly ConcurrentQueue<Forwarded> _forwarded = new();
    private readonly SemaphoreSlim _clientWrite = new(1, 1);
    private readonly Socket _upstream = new(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private Stream? _clientStream;
    private readonly Lock _orderLock = new();
    private SaslServerSession? _sasl;
    private bool _authenticated = proxy.Options.SaslMechanisms.Count == 0;

    // The session the last successful authentication started: its mechanism, user (null when the mechanism names
    // none the proxy knows), the SaslAuthenticate version it used, and when it ends (a Stopwatch timestamp; 0 for never).
    private string? _sessionMechanism;
    private string? _sessionUser;
    private short _sessionAuthenticateVersion;
    private long _sessionEndsAt;

    // Requests passed to the broker whose responses have not yet been passed back, and who waits for none to be left.
    private int _outstanding;
    private bool _responsesEnded;
    private TaskCompletionSource? _drained;

    // The response the request pump waits for instead of the client: a Fetch the proxy holds until records arrive
    // (KafkaProxyOptions.AnswerFetchesOnArrival). Set and failed under _orderLock, so a response pump that ends fails
    // the one being waited for, and none is set after it ended.
    private TaskCompletionSource<byte[]>? _held;

    public void Dispose()
    {
        Abort();
        _clientWrite.Dispose();
    }

    public void Abort()
    {
        try
        {
            client.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        client.Dispose();
        _upstream.Dispose();
    }

    public async Task RunAsync(CancellationToken stop)
    {
        client.NoDelay = true;
        try
        {
            Stream stream = new NetworkStream(client, ownsSocket: false);
            if (proxy.Options.ServerCertificate is { } certificate)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    ClientCertificateRequired = proxy.Options.RequiredClientCa is not null,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = ValidateClientCertificate,
                }, stop).ConfigureAwait(false);
            }

            _clientStream = stream;
            await _upstream.ConnectAsync(listener.UpstreamHost, listener.UpstreamPort, stop).ConfigureAwait(false);
            var upstream = new NetworkStream(_upstream, ownsSocket: false);
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var requests = PumpRequestsAsync(stream, upstream, ended.Token);
            var responses = PumpResponsesAsync(upstream, stream, ended.Token);
            await Task.WhenAny(requests, responses).ConfigureAwait(false);

            // One side ended (or a fault cut it): closing both sockets ends the other pump's reads and writes, and the
            // cancellation its waits (a held Fetch waiting for records, a fault's delay); it is awaited so nothing still
            // uses the connection's state when it is released.
            Abort();
            await ended.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(requests, responses).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException
                                   or System.Security.Authentication.AuthenticationException or KafkaProtocolException)
        {
            // The client, the broker or a fault ended the connection: both sides close below.
        }
        finally
        {
            Abort();
            if (_clientStream is not null)
            {
                await _clientStream.DisposeAsync().ConfigureAwait(false);
            }

            listener.Forget(this);
            _clientWrite.Dispose();
        }
    }

    // As a broker whose truststore holds the CA: the intermediates the client sent with its certificate (which the
    // handshake put in the chain's extra store) may complete the chain to it.
    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        proxy.Options.RequiredClientCa is not { } ca || TestCertificateAuthority.ChainsTo(certificate, ca, chain?.ChainPolicy.ExtraStore);

    private async Task PumpRequestsAsync(Stream from, Stream to, CancellationToken stop)
    {
        while (true)
        {
            var frame = await ReadFrameAsync(from, stop).ConfigureAwait(false);
            if (frame is null)
            {
                return;
            }

            var api = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(4));
            var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(6));
            if (api is ApiKey.SaslHandshake or ApiKey.SaslAuthenticate && proxy.Options.SaslMechanisms.Count > 0)
            {
                await WhenRequestsAnsweredAsync().WaitAsync(stop).ConfigureAwait(false);
                if (!await AnswerSaslAsync(frame, api, version, stop).ConfigureAwait(false))
                {
                    return; // Kafka closes a connection whose authentication or re-authentication it refuses
                }

                continue;
            }

            if (!_authenticated && api != ApiKey.ApiVersions)
            {
                return; // Kafka closes a connection that sends anything but ApiVersions and SASL before authenticating
            }

            if (_sessionEndsAt != 0 && Stopwatch.GetTimestamp() > _sessionEndsAt)
            {
                listener.Faults.CountExpiredSession();
                return; // Kafka closes a connection whose session ended, at its next request
            }

            if (api is ApiKey.CreateTopics or ApiKey.DeleteTopics && proxy.TopicAdministration is { } topics)
            {
                // Answered here, in order as a broker would: after every request read before it has had its response.
                // One that cannot be decoded throws KafkaProtocolException, which closes the connection.
                await WhenRequestsAnsweredAsync().WaitAsync(stop).ConfigureAwait(false);
                var answer = await topics.AnswerAsync(frame, api, version, stop).ConfigureAwait(false);
                await WriteToClientAsync(answer, stop).ConfigureAwait(false);
                if (api == ApiKey.DeleteTopics && proxy.Options.AnswerFetchesOnArrival)
                {
                    proxy.RecordArrivals.Signal(); // held Fetches of a deleted topic get their error now
                }

                continue;
            }

            if (api == ApiKey.Fetch && proxy.Options.AnswerFetchesOnArrival
                && FetchWait.TryRead(frame, version, out var maxWaitMs, out var minBytes, out var maxWaitOffset) && maxWaitMs > 0)
            {
                if (minBytes > 0)
                {
                    await AnswerFetchOnArrivalAsync(to, frame, version, maxWaitMs, minBytes, maxWaitOffset, stop).ConfigureAwait(false);
                    continue;
                }

                // Kafka answers a Fetch that asks for no bytes at once, whatever its wait; the mock would wait it out when
                // it finds nothing, so it gets the request without the wait.
                frame = FetchWait.WithoutWait(frame, maxWaitOffset);
            }

            await PassAsync(to, frame, toBroker: true, api, version, held: null, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Writes a response the proxy made itself, between the broker's responses the response pump passes on.</summary>
    private async Task WriteToClientAsync(ReadOnlyMemory<byte> response, CancellationToken stop)
    {
        await _clientWrite.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            await _clientStream!.WriteAsync(response, stop).ConfigureAwait(false);
            await _clientStream.FlushAsync(stop).ConfigureAwait(false);
        }
        finally
        {
            _clientWrite.Release();
        }
    }

    private async Task PumpResponsesAsync(Stream from, Stream to, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var frame = await ReadFrameAsync(from, stop).ConfigureAwait(false);
                if (frame is null || !_forwarded.TryDequeue(out var request))
                {
                    return;
                }

                if (request.Held is { } held)
                {
                    // A held Fetch's response goes to the request pump, which decides whether the client gets it.
                    ResponseHandled();
                    held.TrySetResult(frame);
                    continue;
                }

                // The broker answered, so the records are in its log: held Fetches look again now, before the client
                // has the answer (as a broker completes waiting Fetches on append), and also when passing it on fails.
                if (proxy.Options.AnswerFetchesOnArrival && RecordArrivals.Signals(request.Api))
                {
                    proxy.RecordArrivals.Signal();
                }

                await PassToClientAsync(to, frame, request.Api, request.Version, stop).ConfigureAwait(false);
                ResponseHandled();
            }
        }
        finally
        {
            // No response will come any more: a SASL request waiting for them, or a held Fetch waiting for the broker's
            // answer, gives up (the connection is closing).
            TaskCompletionSource? waiting;
            TaskCompletionSource<byte[]>? held;
            lock (_orderLock)
            {
                _responsesEnded = true;
                (waiting, _drained) = (_drained, null);
                (held, _held) = (_held, null);
            }

            waiting?.TrySetException(new IOException("The broker side of the connection ended."));
            held?.TrySetException(new IOException("The broker side of the connection ended."));
        }
    }

    /// <summary>Counts one response handled, and wakes a request waiting for every earlier one.</summary>
    private void ResponseHandled()
    {
        TaskCompletionSource? drained = null;
        lock (_orderLock)
        {
            if (--_outstanding == 0)
            {
                (drained, _drained) = (_drained, null);
            }
        }

        drained?.TrySetResult();
    }

    /// <summary>
    /// Answers a waiting Fetch as a Kafka broker does (<see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/>): asks the
    /// broker without the wait, and again each time records may have arrived (or a recheck interval passed), until a
    /// response holds enough or the Fetch's wait is over; the client gets that response. The request goes through the
    /// listener's faults once, as does the response; the asks in between are the broker's own business.
    /// </summary>
    private async Task AnswerFetchOnArrivalAsync(Stream upstream, byte[] frame, short version, int maxWaitMs, int minBytes, int maxWaitOffset, CancellationToken stop)
    {
        var clock = Messaging.Threading.Clock.System;
        var ask = FetchWait.WithoutWait(frame, maxWaitOffset);
        var arrivals = proxy.RecordArrivals;

        // The generation is read before each ask: a record that lands after the broker looked signals a later one.
        var seen = arrivals.Generation;
        var held = Hold();
        if (!await PassAsync(upstream, ask, toBroker: true, ApiKey.Fetch, version, held, stop).ConfigureAwait(false))
        {
            ReleaseHold();
            return; // swallowed by the blackhole: never answered, as a request lost on the network
        }

        // A broker's wait starts when the request reaches it: after the listener's latency and bandwidth delays.
        var deadline = clock.After(TimeSpan.FromMilliseconds(maxWaitMs));
        var response = await held.Task.WaitAsync(stop).ConfigureAwait(false);
        while (!FetchWait.IsAnswer(response, version, minBytes))
        {
            var left = clock.Until(deadline);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            var recheck = proxy.Options.FetchRecheckInterval;
            await arrivals.WaitAfterAsync(seen, left < recheck ? left : recheck, stop).ConfigureAwait(false);
            seen = arrivals.Generation;
            held = Hold();
            ExpectResponse(new Forwarded(ApiKey.Fetch, version, held));
            await upstream.WriteAsync(ask, stop).ConfigureAwait(false);
            response = await held.Task.WaitAsync(stop).ConfigureAwait(false);
        }

        ReleaseHold();
        await PassToClientAsync(_clientStream!, response, ApiKey.Fetch, version, stop).ConfigureAwait(false);
    }

    /// <summary>The held Fetch is answered (or lost to the blackhole): the response pump hands no more responses to it.</summary>
    private void ReleaseHold()
    {
        lock (_orderLock)
        {
            _held = null;
        }
    }

    /// <summary>Counts a request passed to the broker as waiting for its response, which goes to <paramref name="request"/>'s taker.</summary>
    private void ExpectResponse(Forwarded request)
    {
        lock (_orderLock)
        {
            _outstanding++;
        }

        _forwarded.Enqueue(request);
    }

    /// <summary>
    /// Passes a broker's response to the client, rewritten where it names brokers (<see cref="ResponseRewriter"/>), through
    /// the listener's faults, between the other writes to the client. Every broker response takes this way, a held Fetch's too.
    /// </summary>
    private async Task PassToClientAsync(Stream to, byte[] frame, ApiKey api, short version, CancellationToken stop)
    {
        frame = ResponseRewriter.Rewrite(proxy, api, version, frame) ?? frame;
        await _clientWrite.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            await PassAsync(to, frame, toBroker: false, api, version, held: null, stop).ConfigureAwait(false);
        }
        finally
        {
            _clientWrite.Release();
        }
    }

    /// <summary>Makes the completion the response pump hands the next held Fetch response to; fails if no response will come.</summary>
    private TaskCompletionSource<byte[]> Hold()
    {
        var held = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_orderLock)
        {
            if (_responsesEnded)
            {
                throw new IOException("The broker side of the connection ended.");
            }

            _held = held;
        }

        return held;
    }

    /// <summary>Completes once every request passed to the broker so far has had its response passed back.</summary>
    private Task WhenRequestsAnsweredAsync()
    {
        lock (_orderLock)
        {
            if (_responsesEnded)
            {
                return Task.FromException(new IOException("The broker side of the connection ended."));
            }

            if (_outstanding == 0)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    /// <summary>Answers one SASL request; false when the connection must close (an authentication or re-authentication Kafka refuses).</summary>
    private async Task<bool> AnswerSaslAsync(byte[] frame, ApiKey api, short version, CancellationToken stop)
    {
        using var output = new ContiguousBufferWriter(256);
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(8));
        var keepOpen = true;
        if (api == ApiKey.SaslHandshake)
        {
            var request = KafkaFrames.ReadRequest<SaslHandshakeRequest>(frame.AsMemory(4), null, out _);
            var enabled = proxy.Options.SaslMechanisms.Contains(request.Mechanism);
            var error = enabled ? ErrorCode.None : ErrorCode.UnsupportedSaslMechanism;
            keepOpen = enabled; // Kafka closes a connection whose authentication failed, once the error is sent
            if (_sessionMechanism is not null && (_sessionAuthenticateVersion < 1 || request.Mechanism != _sessionMechanism))
            {
                // Authenticated already: KIP-368 lets only a SaslAuthenticate v1+ client do it again, with the same mechanism.
                error = ErrorCode.IllegalSaslState;
                keepOpen = false;
            }

            _sasl = error == ErrorCode.None ? new SaslServerSession(request.Mechanism, proxy.Options) : null;
            KafkaFrames.WriteResponse(output, new SaslHandshakeResponse { ErrorCode = error, Mechanisms = [.. proxy.Options.SaslMechanisms] }, version, correlationId);
        }
        else
        {
            var bytes = SaslAuthenticateCodec.ReadAuthBytes(frame.AsMemory(4), version);
            var (response, error) = _sasl is null ? ([], "SaslAuthenticate before SaslHandshake") : _sasl.Step(bytes.Span);
            var complete = error is null && _sasl!.IsComplete;
            var reauthentication = _sessionMechanism is not null;
            if (complete && reauthentication && _sessionUser != _sasl!.User)
            {
                error = "Cannot change principals during re-authentication";
                complete = false;
            }

            var lifetime = proxy.Options.SessionLifetime;
            SaslAuthenticateCodec.WriteResponse(output, version, correlationId, error is null ? ErrorCode.None : ErrorCode.SaslAuthenticationFailed, error, response,
                complete ? (long)lifetime.TotalMilliseconds : 0);
            if (complete)
            {
                _authenticated = true;
                _sessionMechanism = _sasl!.Mechanism;
                _sessionUser = _sasl.User;
                _sessionAuthenticateVersion = version;
                _sessionEndsAt = lifetime > TimeSpan.Zero ? Clock.System.After(lifetime) : 0; // a Stopwatch timestamp; never, past what one holds
                if (reauthentication)
                {
                    listener.Faults.CountReauthentication();
                }
            }
            else if (error is not null)
            {
                keepOpen = false; // Kafka closes a connection whose authentication (or re-authentication) failed
            }
        }

        await WriteToClientAsync(output.WrittenMemory, stop).ConfigureAwait(false);
        return keepOpen;
    }

    /// <summary>
    /// Passes one frame (of <paramref name="api"/> at <paramref name="version"/>, request or response) on through the
    /// faults: blackhole, latency, bandwidth, then a cut if one is armed. A request is expected to be answered only once
    /// it goes out: one the blackhole swallowed never is, and waiting for its response would pair every later response
    /// with the request before its own and hold a re-authentication back for ever.
    /// </summary>
    /// <returns>False when the blackhole swallowed the frame.</returns>
    private async Task<bool> PassAsync(Stream to, byte[] frame, bool toBroker, ApiKey api, short version, TaskCompletionSource<byte[]>? held, CancellationToken stop)
    {
        var faults = listener.Faults;
        if (faults.Blackhole)
        {
            return false;
        }

        var latency = faults.Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, stop).ConfigureAwait(false);
        }

        var rate = faults.BytesPerSecond;
        if (rate > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)frame.Length / rate), stop).ConfigureAwait(false);
        }

        if (toBroker)
        {
            ExpectResponse(new Forwarded(api, version, held)); // before any byte of it: its response may come back before the write returns
        }

        var cut = faults.TakeCut(frame.Length, toBroker, api);
        if (cut >= 0)
        {
            await to.WriteAsync(frame.AsMemory(0, cut), stop).ConfigureAwait(false);
            await to.FlushAsync(stop).ConfigureAwait(false);
            faults.Count(toBroker, cut);
            faults.RecordCut(new ProxyCut(toBroker, api, frame.Length, cut));
            throw new IOException("The proxy cut the connection after the armed number of bytes.");
        }

        await to.WriteAsync(frame, stop).ConfigureAwait(false);
        faults.Count(toBroker, frame.Length);
        if (toBroker)
        {
            faults.CountRequest(api);
        }

        return true;
    }

    /// <summary>Reads one frame with its size prefix, or null at the end of the stream.</summary>
    private static async Task<byte[]?> ReadFrameAsync(Stream from, CancellationToken stop)
    {
        var prefix = new byte[4];
        if (!await ReadExactlyOrEndAsync(from, prefix, stop).ConfigureAwait(false))
        {
            return null;
        }

        var size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (size is < 8 or > MaxFrameBytes)
        {
            return null;
        }

        var frame = new byte[4 + size];
        prefix.CopyTo(frame, 0);
        return await ReadExactlyOrEndAsync(from, frame.AsMemory(4), stop).ConfigureAwait(false) ? frame : null;
    }

    /// <summary>A request passed to the broker: what its response is, and who takes it when the proxy holds it (else the client).</summary>
    private readonly record struct Forwarded(ApiKey Api, short Version, TaskCompletionSource<byte[]>? Held);

    private static async Task<bool> ReadExactlyOrEndAsync(Stream from, Memory<byte> buffer, CancellationToken stop)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await from.ReadAsync(buffer[total..], stop).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            total += read;
        }

        return true;
    }
}
