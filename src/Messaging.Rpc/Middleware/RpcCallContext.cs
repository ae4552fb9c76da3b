namespace Messaging.Rpc;

/// <summary>
/// One call as interceptors see it, on either side: the service (request topic), the method, the call's options
/// (deadline or timeout, headers, key, idempotency), its correlation ID and its cancellation. Interceptors may change
/// <see cref="Options"/> and <see cref="CancellationToken"/> before they call the next step, and
/// <see cref="RpcCallContext{TRequest}.Request"/>; what the next step returns or throws is the outcome they may change.
/// </summary>
/// <remarks>
/// <para><b>Client side.</b> <see cref="Options"/> are the caller's; what the last interceptor passes on is what is
/// sent. <see cref="CorrelationId"/> is drawn before the first interceptor runs and is the one every attempt of the
/// call carries.</para>
/// <para><b>Server side.</b> <see cref="Options"/> describe the request as received: <see cref="RpcCallOptions.Deadline"/>
/// its deadline, <see cref="RpcCallOptions.Headers"/> the caller's headers, <see cref="RpcCallOptions.Key"/> its key;
/// <see cref="CancellationToken"/> fires at the deadline or on shutdown. While a handler runs the server makes its
/// context <see cref="Current"/> (<see cref="RpcServerOptions.PropagateCallContext"/>, on by default), so the handler's
/// own outgoing calls can inherit the deadline and cancellation (<see cref="RpcDeadlinePropagationInterceptor"/>).</para>
/// </remarks>
public abstract class RpcCallContext
{
    private static readonly AsyncLocal<RpcCallContext?> Ambient = new();
    private Dictionary<string, object?>? _items;
    private RpcCallOptions _options;
    private CancellationToken _cancellationToken;

    // A server's context reads its options and token from the request's RpcServerContext on first use: the headers
    // are copied and the deadline's token source is created only if an interceptor or an outgoing call asks.
    private bool _optionsRead;
    private bool _tokenRead;

    private protected RpcCallContext(RpcCallSide side, string topic, string method, Guid correlationId, RpcCallOptions options, CancellationToken cancellationToken)
    {
        Side = side;
        Topic = topic;
        Method = method;
        CorrelationId = correlationId;
        _options = options;
        _cancellationToken = cancellationToken;
        _optionsRead = true;
        _tokenRead = true;
    }

    private protected RpcCallContext(RpcServerContext server)
    {
        Side = RpcCallSide.Server;
        Topic = server.TopicPartition.Topic;
        Method = server.Method;
        CorrelationId = server.CorrelationId;
        ServerContext = server;
    }

    /// <summary>
    /// The server call whose handler is running on this asynchronous flow, or null outside handlers. Set by the server
    /// through <see cref="Enter"/>; read by <see cref="RpcDeadlinePropagationInterceptor"/>.
    /// </summary>
    public static RpcCallContext? Current => Ambient.Value;

    /// <summary>Client or server.</summary>
    public RpcCallSide Side { get; }

    /// <summary>The request topic (the service).</summary>
    public string Topic { get; }

    /// <summary>The method name.</summary>
    public string Method { get; }

    /// <summary>The call's correlation ID (<see cref="Guid.Empty"/> for a server request that carries none: a one-way send).</summary>
    public Guid CorrelationId { get; }

    /// <summary>
    /// The handled request's context on a server (topic, partition, offset, headers as received), or null on the
    /// client side. Valid until the handler's reply is written, like the handler's own.
    /// </summary>
    public RpcServerContext? ServerContext { get; }

    /// <summary>
    /// The call's options; client interceptors may replace them (<c>context.Options = context.Options with { ... }</c>).
    /// On a server they describe the request (its deadline, headers and key) and changing them changes nothing sent.
    /// </summary>
    public RpcCallOptions Options
    {
        get
        {
            if (!_optionsRead)
            {
                _options = ReadOptions(ServerContext!);
                _optionsRead = true;
            }

            return _options;
        }

        set
        {
            _options = value;
            _optionsRead = true;
        }
    }

    /// <summary>The call's cancellation; an interceptor may replace it (a linked token, say) before calling the next step.</summary>
    public CancellationToken CancellationToken
    {
        get
        {
            if (!_tokenRead)
            {
                _cancellationToken = ServerContext!.CancellationToken;
                _tokenRead = true;
            }

            return _cancellationToken;
        }

        set
        {
            _cancellationToken = value;
            _tokenRead = true;
        }
    }

    /// <summary>State interceptors share during one call (created on first use).</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>
    /// Makes <paramref name="context"/> the <see cref="Current"/> call on this asynchronous flow until the returned
    /// scope is disposed (which restores the previous one). For servers: enter the request's context around its
    /// handler, so calls the handler makes inherit its deadline and cancellation.
    /// </summary>
    /// <param name="context">The call to make current.</param>
    /// <returns>The scope to dispose when the handler is done.</returns>
    public static RpcCallScope Enter(RpcCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var previous = Ambient.Value;
        Ambient.Value = context;
        return new RpcCallScope(previous);
    }

    private static RpcCallOptions ReadOptions(RpcServerContext server)
    {
        RecordHeader[] headers = [];
        if (server.Headers.Count > 0)
        {
            headers = new RecordHeader[server.Headers.Count];
            server.Headers.CopyTo(headers);
        }

        return new RpcCallOptions { Deadline = server.Deadline, Headers = headers, Key = server.Key };
    }

    /// <summary>Restores the call that was current before <see cref="Enter"/>.</summary>
    internal static void Restore(RpcCallContext? previous) => Ambient.Value = previous;
}
