namespace Messaging.Testing.Security;

/// <summary>
/// Network faults a <see cref="KafkaProxy"/> applies to one broker's connections, changeable at any time from any
/// thread: added latency, a bandwidth cap, cutting the connection after a number of bytes (in the middle of a frame),
/// a blackhole (bytes are swallowed, nothing is answered) and refusing new connections. Counters say what passed.
/// </summary>
public sealed class ProxyFaults
{
    private long _latencyTicks;
    private long _bytesPerSecond;
    private long _cutAfterBytes = -1;
    private int _cutDirection; // which frames the armed cut counts: AnyFrame, RequestsOnly or ResponsesOnly
    private int _cutApi = AnyApi; // and of which API (AnyApi: every frame)
    private readonly long[] _requests = new long[128]; // by API key; Kafka's keys stay well below
    private int _blackhole;
    private int _refuse;
    private long _bytesToBroker;
    private long _bytesToClient;
    private int _connections;
    private int _reauthentications;
    private int _expiredSessions;
    private ProxyCut? _lastCut;

    private const int AnyFrame = 0;
    private const int RequestsOnly = 1;
    private const int ResponsesOnly = 2;
    private const int AnyApi = -1;

    /// <summary>Delay added before each frame is passed on, in either direction.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    /// <summary>The most bytes per second passed on per connection and direction; 0 for no cap.</summary>
    public long BytesPerSecond
    {
        get => Interlocked.Read(ref _bytesPerSecond);
        set => Interlocked.Exchange(ref _bytesPerSecond, value);
    }

    /// <summary>True: new bytes are swallowed in both directions and connections stay open, unanswered.</summary>
    public bool Blackhole
    {
        get => Volatile.Read(ref _blackhole) != 0;
        set => Volatile.Write(ref _blackhole, value ? 1 : 0);
    }

    /// <summary>True: new connections are closed as soon as they are accepted.</summary>
    public bool RefuseConnections
    {
        get => Volatile.Read(ref _refuse) != 0;
        set => Volatile.Write(ref _refuse, value ? 1 : 0);
    }

    /// <summary>Bytes passed from clients to the broker (after TLS and SASL, which the proxy answers itself).</summary>
    public long BytesToBroker => Interlocked.Read(ref _bytesToBroker);

    /// <summary>Bytes passed from the broker to clients.</summary>
    public long BytesToClient => Interlocked.Read(ref _bytesToClient);

    /// <summary>Connections accepted (refused ones included).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Successful SASL authentications on connections that were authenticated already (KIP-368).</summary>
    public int Reauthentications => Volatile.Read(ref _reauthentications);

    /// <summary>Connections closed because a request came after their SASL session ended.</summary>
    public int ExpiredSessions => Volatile.Read(ref _expiredSessions);

    /// <summary>Where the last armed cut fell (null before one happened).</summary>
    public ProxyCut? LastCut => Volatile.Read(ref _lastCut);

    /// <summary>
    /// Cuts the next connection that passes on <paramref name="bytes"/> more bytes (in either direction): it passes on
    /// exactly that many, so the cut falls inside a frame when the count says so, then closes both sides. One cut per call.
    /// </summary>
    public void CutAfterBytes(long bytes) => CutAfterBytes(bytes, requestsOnly: false);

    /// <summary>
    /// Like <see cref="CutAfterBytes(long)"/>; with <paramref name="requestsOnly"/> only bytes going to the broker count,
    /// so the cut falls inside a request (<see cref="LastCut"/> says which).
    /// </summary>
    public void CutAfterBytes(long bytes, bool requestsOnly) => ArmCut(bytes, requestsOnly ? RequestsOnly : AnyFrame, AnyApi);

    /// <summary>
    /// Cuts the connection that next passes on the broker's response to a request of <paramref name="api"/>, after
    /// <paramref name="bytes"/> of that response (0: before any of it): the broker has done what the request asked and
    /// the client never learns it — a write applied but unacknowledged. Other frames pass untouched. One cut per call.
    /// </summary>
    public void CutResponse(ApiKey api, int bytes) => ArmCut(bytes, ResponsesOnly, (int)api);

    private void ArmCut(long bytes, int direction, int api)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);

        // The filters first: arming the count (last) is what makes the cut visible to the connections.
        Volatile.Write(ref _cutDirection, direction);
        Volatile.Write(ref _cutApi, api);
        Interlocked.Exchange(ref _cutAfterBytes, bytes);
    }

    /// <summary>Requests of <paramref name="api"/> passed whole to the broker (SASL, which the proxy answers, is not counted).</summary>
    public long Requests(ApiKey api) => (ushort)api < _requests.Length ? Interlocked.Read(ref _requests[(ushort)api]) : 0;

    /// <summary>True while a cut is armed and has not happened.</summary>
    public bool CutPending => Interlocked.Read(ref _cutAfterBytes) >= 0;

    internal void CountConnection() => Interlocked.Increment(ref _connections);

    internal void CountReauthentication() => Interlocked.Increment(ref _reauthentications);

    internal void CountExpiredSession() => Interlocked.Increment(ref _expiredSessions);

    internal void RecordCut(ProxyCut cut) => Volatile.Write(ref _lastCut, cut);

    internal void Count(bool toBroker, int bytes) => Interlocked.Add(ref toBroker ? ref _bytesToBroker : ref _bytesToClient, bytes);

    internal void CountRequest(ApiKey api)
    {
        if ((ushort)api < _requests.Length)
        {
            Interlocked.Increment(ref _requests[(ushort)api]);
        }
    }

    /// <summary>How many of <paramref name="bytes"/> may pass before the armed cut, or -1 when no cut is armed (or it counts other frames: the other direction, another API); claims the cut when it falls inside.</summary>
    internal int TakeCut(int bytes, bool toBroker, ApiKey api)
    {
        var direction = Volatile.Read(ref _cutDirection);
        var cutApi = Volatile.Read(ref _cutApi);
        if ((direction == RequestsOnly && !toBroker) || (direction == ResponsesOnly && toBroker) || (cutApi != AnyApi && cutApi != (int)api))
        {
            return -1;
        }

        while (true)
        {
            var remaining = Interlocked.Read(ref _cutAfterBytes);
            if (remaining < 0)
            {
                return -1;
            }

            var next = remaining >= bytes ? remaining - bytes : -1;
            if (remaining >= bytes && remaining - bytes > 0)
            {
                if (Interlocked.CompareExchange(ref _cutAfterBytes, next, remaining) == remaining)
                {
                    return -1;
                }

                continue;
            }

            // The cut falls inside (or right at the end of) these bytes: this connection takes it.
            if (Interlocked.CompareExchange(ref _cutAfterBytes, -1, remaining) == remaining)
            {
                return (int)remaining;
            }
        }
    }
}
