using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Connection;

/// <summary>What a <see cref="HostileBroker"/> does instead of answering, once the handshake is over.</summary>
public enum HostileBehavior
{
    /// <summary>Answers every request properly.</summary>
    WellBehaved,

    /// <summary>Sends <see cref="HostileBrokerOptions.SizePrefix"/> as a response size, then nothing, and keeps the connection open.</summary>
    SizePrefix,

    /// <summary>Sends a size prefix of 100 and 10 bytes (the right correlation id and six more), then closes.</summary>
    TruncatedFrame,

    /// <summary>Sends a size prefix of 100 and 10 bytes, then nothing more, and keeps the connection open.</summary>
    StalledFrame,

    /// <summary>Sends a well-formed Metadata response whose correlation id is one no request carries.</summary>
    UnknownCorrelationId,

    /// <summary>Sends <see cref="HostileBrokerOptions.RandomByteCount"/> seeded random bytes, then closes.</summary>
    RandomBytes,

    /// <summary>Sends a correctly framed response with the right correlation id and a body of seeded random bytes; keeps behaving after.</summary>
    RandomBody,

    /// <summary>Reads the request and never answers it (nor any later one on that connection).</summary>
    Silent,

    /// <summary>After the handshake, reads nothing more (its receive window is small), so a large request's write blocks.</summary>
    Deaf,
}

/// <summary>How a <see cref="HostileBroker"/> misbehaves, on which connections, and how long it may live.</summary>
internal sealed record HostileBrokerOptions
{
    public HostileBehavior Behavior { get; init; }

    /// <summary>The size prefix <see cref="HostileBehavior.SizePrefix"/> sends.</summary>
    public int SizePrefix { get; init; } = 0x7FFFFFF0;

    public int RandomSeed { get; init; } = 1;

    public int RandomByteCount { get; init; } = 4096;

    /// <summary>How many connections, counted from the first accepted, misbehave; later ones behave.</summary>
    public int HostileConnections { get; init; } = 1;

    /// <summary>How many requests after the handshake a hostile connection collects before it answers or misbehaves (the pipeline depth it waits for).</summary>
    public int RequestsBeforeMisbehaving { get; init; } = 1;

    /// <summary>Of the collected requests, how many are answered properly, in order, before the misbehaviour (which concerns the next one).</summary>
    public int RequestsAnsweredFirst { get; init; }

    /// <summary>When true, a hostile connection misbehaves on the ApiVersions handshake itself instead of the first request after it.</summary>
    public bool MisbehaveOnHandshake { get; init; }

    /// <summary>Connections accepted at most; the listener stops after that many.</summary>
    public int MaxConnections { get; init; } = 8;

    /// <summary>How long the broker may run: every loop and read ends by then, whatever the client does.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The throttle time every proper Metadata response reports (a broker enforcing a quota).</summary>
    public int ThrottleTimeMs { get; init; }
}

/// <summary>
/// A fake Kafka broker on a loopback port that answers the ApiVersions handshake properly (ApiVersions 0-4 and
/// Metadata 9-12, at the version asked, encoded with our own message types) and then misbehaves on the next
/// request(s) as <see cref="HostileBrokerOptions.Behavior"/> says. Connections after the first
/// <see cref="HostileBrokerOptions.HostileConnections"/> behave, so a test can check that a new connection works.
/// </summary>
/// <remarks>
/// Bounded: it accepts at most <see cref="HostileBrokerOptions.MaxConnections"/> connections, reads requests of at
/// most 64 KiB, and every loop and socket operation is cancelled when <see cref="HostileBrokerOptions.Lifetime"/>
/// passes or on <see cref="DisposeAsync"/>, which closes the listener and every accepted socket and waits for the loops.
/// </remarks>
internal sealed class HostileBroker : IAsyncDisposable
{
    private const int MaxRequestBytes = 64 * 1024;

    private readonly HostileBrokerOptions _options;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop;
    private readonly Lock _sync = new();
    private readonly List<Socket> _accepted = [];
    private readonly List<Task> _serving = [];
    private readonly byte[] _random;
    private readonly TaskCompletionSource _misbehaved = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _hostileConnectionEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _acceptLoop;
    private int _connections;
    private int _requests;
    private int _disposed;

    private HostileBroker(HostileBrokerOptions options)
    {
        _options = options;
        _random = new byte[options.RandomByteCount];
        new Random(options.RandomSeed).NextBytes(_random);
        _stop = new CancellationTokenSource(options.Lifetime);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        if (options.Behavior == HostileBehavior.Deaf)
        {
            // Accepted sockets inherit it: the window a deaf broker leaves open stays small, so writes block soon.
            _listener.Server.ReceiveBufferSize = 4096;
        }

        _listener.Start(backlog: options.MaxConnections);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Endpoint = new BrokerEndpoint("127.0.0.1", Port);
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    public int Port { get; }

    public BrokerEndpoint Endpoint { get; }

    public string BootstrapServers => "127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionsAccepted => Volatile.Read(ref _connections);

    /// <summary>Requests read so far, on every connection, handshakes included.</summary>
    public int RequestsReceived => Volatile.Read(ref _requests);

    /// <summary>The bytes <see cref="HostileBehavior.RandomBytes"/> and <see cref="HostileBehavior.RandomBody"/> send.</summary>
    public ReadOnlySpan<byte> RandomBytes => _random;

    /// <summary>Completes when the first hostile connection has sent its misbehaviour (for <see cref="HostileBehavior.Silent"/>: read the request it ignores).</summary>
    public Task Misbehaved => _misbehaved.Task;

    /// <summary>Completes when the first hostile connection is over: true if the client closed it, false if the broker did.</summary>
    public Task<bool> HostileConnectionEnded => _hostileConnectionEnded.Task;

    public static HostileBroker Start(HostileBrokerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RequestsBeforeMisbehaving, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(options.RequestsAnsweredFirst, options.RequestsBeforeMisbehaving);
        return new HostileBroker(options);
    }

    public static HostileBroker Start(HostileBehavior behavior) => Start(new HostileBrokerOptions { Behavior = behavior });

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        Task[] serving;
        lock (_sync)
        {
            foreach (var socket in _accepted)
            {
                socket.Dispose();
            }

            serving = [.. _serving, _acceptLoop];
        }

        // Every loop observes the cancelled token or its disposed socket; waiting is bounded anyway.
        await Task.WhenAny(Task.WhenAll(serving), Task.Delay(TimeSpan.FromSeconds(5)));
        _hostileConnectionEnded.TrySetResult(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        try
        {
            while (ConnectionsAccepted < _options.MaxConnections)
            {
                var socket = await _listener.AcceptSocketAsync(ct);
                socket.NoDelay = true;
                var index = Interlocked.Increment(ref _connections) - 1;
                lock (_sync)
                {
                    if (Volatile.Read(ref _disposed) != 0)
                    {
                        socket.Dispose();
                        return;
                    }

                    _accepted.Add(socket);
                    _serving.Add(ServeAsync(socket, index, ct));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped: disposed or the lifetime passed.
        }
        finally
        {
            _listener.Stop();
        }
    }

    private async Task ServeAsync(Socket socket, int index, CancellationToken ct)
    {
        await Task.Yield();
        var hostileConnection = _options.Behavior != HostileBehavior.WellBehaved && index < _options.HostileConnections;
        var hostile = hostileConnection;
        var first = index == 0;
        var clientClosed = false;
        using var output = new ContiguousBufferWriter(1024);
        var payload = new byte[MaxRequestBytes];
        var collected = new List<(short Version, int CorrelationId)>();
        var misbehaved = false;
        try
        {
            while (true)
            {
                var length = await ReadRequestAsync(socket, payload, ct);
                if (length < 0)
                {
                    clientClosed = true;
                    return;
                }

                Interlocked.Increment(ref _requests);
                var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(payload);
                var version = BinaryPrimitives.ReadInt16BigEndian(payload.AsSpan(2));
                var correlationId = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(4));

                if (apiKey == ApiKey.ApiVersions && !(hostile && _options.MisbehaveOnHandshake))
                {
                    await AnswerApiVersionsAsync(socket, output, version, correlationId, ct);
                    if (hostile && _options.Behavior == HostileBehavior.Deaf)
                    {
                        // Stop reading until the broker is stopped; the client's writes pile up against the window.
                        misbehaved = true;
                        if (first)
                        {
                            _misbehaved.TrySetResult();
                        }

                        await Task.Delay(Timeout.Infinite, ct);
                    }

                    continue;
                }

                if (!hostile)
                {
                    await AnswerMetadataAsync(socket, output, version, correlationId, ct);
                    continue;
                }

                if (misbehaved)
                {
                    // After the misbehaviour the connection is the client's to close; read and ignore.
                    continue;
                }

                collected.Add((version, correlationId));
                if (collected.Count < _options.RequestsBeforeMisbehaving)
                {
                    continue;
                }

                for (var i = 0; i < _options.RequestsAnsweredFirst; i++)
                {
                    await AnswerMetadataAsync(socket, output, collected[i].Version, collected[i].CorrelationId, ct);
                }

                var (victimVersion, victimId) = collected[_options.RequestsAnsweredFirst];
                var closeAfter = await MisbehaveAsync(socket, output, victimVersion, victimId, ct);
                misbehaved = true;
                if (first)
                {
                    _misbehaved.TrySetResult();
                }

                if (closeAfter)
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }

                if (_options.Behavior == HostileBehavior.RandomBody)
                {
                    // The framing is intact: the connection may go on, and the broker behaves from here.
                    hostile = false;
                    for (var i = _options.RequestsAnsweredFirst + 1; i < collected.Count; i++)
                    {
                        await AnswerMetadataAsync(socket, output, collected[i].Version, collected[i].CorrelationId, ct);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // The client reset the connection, or the broker is stopping.
            clientClosed = ex is SocketException { SocketErrorCode: SocketError.ConnectionReset };
        }
        finally
        {
            socket.Dispose();
            if (first && hostileConnection)
            {
                _misbehaved.TrySetResult(); // a client that closed before the misbehaviour must not leave a test waiting
                _hostileConnectionEnded.TrySetResult(clientClosed);
            }
        }
    }

    /// <summary>Sends the misbehaviour for the request (<paramref name="version"/>, <paramref name="correlationId"/>); true when the broker should close after it.</summary>
    private async Task<bool> MisbehaveAsync(Socket socket, ContiguousBufferWriter output, short version, int correlationId, CancellationToken ct)
    {
        switch (_options.Behavior)
        {
            case HostileBehavior.SizePrefix:
            {
                var prefix = new byte[4];
                BinaryPrimitives.WriteInt32BigEndian(prefix, _options.SizePrefix);

                // The bytes a positive prefix promises: enough to fill a small claimed frame (e.g. size 2).
                var promised = _options.SizePrefix is > 0 and <= 16 ? _options.SizePrefix : 0;
                await SendAsync(socket, prefix, ct);
                if (promised > 0)
                {
                    await SendAsync(socket, new byte[promised], ct);
                }

                return false;
            }

            case HostileBehavior.TruncatedFrame:
            case HostileBehavior.StalledFrame:
            {
                var frame = new byte[4 + 10];
                BinaryPrimitives.WriteInt32BigEndian(frame, 100);
                BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), correlationId);
                await SendAsync(socket, frame, ct);
                return _options.Behavior == HostileBehavior.TruncatedFrame;
            }

            case HostileBehavior.UnknownCorrelationId:
                await AnswerMetadataAsync(socket, output, version, correlationId + 1_000_000, ct);
                return false;

            case HostileBehavior.RandomBytes:
                await SendAsync(socket, _random, ct);
                return true;

            case HostileBehavior.RandomBody:
            {
                var frame = new byte[4 + 4 + _random.Length];
                BinaryPrimitives.WriteInt32BigEndian(frame, 4 + _random.Length);
                BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), correlationId);
                _random.CopyTo(frame.AsSpan(8));
                await SendAsync(socket, frame, ct);
                return false;
            }

            case HostileBehavior.Silent:
            case HostileBehavior.Deaf:
                return false;

            default:
                throw new InvalidOperationException("Not a misbehaviour: " + _options.Behavior);
        }
    }

    private static async Task AnswerApiVersionsAsync(Socket socket, ContiguousBufferWriter output, short version, int correlationId, CancellationToken ct)
    {
        var response = new ApiVersionsResponse
        {
            ErrorCode = ErrorCode.None,
            ApiKeys =
            [
                new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.ApiVersions, MinVersion = 0, MaxVersion = 4 },
                new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.Metadata, MinVersion = 9, MaxVersion = 12 },
            ],
        };
        output.Clear();
        KafkaFrames.WriteResponse(output, response, Math.Clamp(version, ApiVersionsResponse.MinVersion, ApiVersionsResponse.MaxVersion), correlationId);
        await SendAsync(socket, output.WrittenMemory, ct);
    }

    private async Task AnswerMetadataAsync(Socket socket, ContiguousBufferWriter output, short version, int correlationId, CancellationToken ct)
    {
        var response = new MetadataResponse
        {
            Brokers = [new MetadataResponse.MetadataResponseBroker { NodeId = 1, Host = "127.0.0.1", Port = Port }],
            ClusterId = "hostile",
            ControllerId = 1,
            Topics = [],
            ThrottleTimeMs = _options.ThrottleTimeMs,
        };
        output.Clear();
        KafkaFrames.WriteResponse(output, response, Math.Clamp(version, MetadataResponse.MinVersion, MetadataResponse.MaxVersion), correlationId);
        await SendAsync(socket, output.WrittenMemory, ct);
    }

    /// <summary>Reads one request into <paramref name="payload"/>; its length, or -1 when the client closed the connection.</summary>
    private static async Task<int> ReadRequestAsync(Socket socket, byte[] payload, CancellationToken ct)
    {
        if (!await ReceiveExactlyAsync(socket, payload.AsMemory(0, 4), ct))
        {
            return -1;
        }

        var size = BinaryPrimitives.ReadInt32BigEndian(payload);
        if (size < 8 || size > payload.Length)
        {
            throw new IOException("the client sent a request size of " + size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return await ReceiveExactlyAsync(socket, payload.AsMemory(0, size), ct) ? size : -1;
    }

    private static async Task<bool> ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, ct);
            if (read == 0)
            {
                return false;
            }

            buffer = buffer[read..];
        }

        return true;
    }

    private static async Task SendAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken ct)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, ct);
            bytes = bytes[sent..];
        }
    }
}
