using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Rpc;

/// <summary>
/// The settings of an <see cref="RpcServer"/>. Plain settable properties, so <c>configuration.Bind(options)</c> fills
/// them; validated when the server is built. <see cref="BootstrapServers"/> and <see cref="ClientId"/> are applied to
/// <see cref="Producer"/>, <see cref="Consumer"/> and <see cref="Admin"/> where those leave them unset; <see cref="GroupId"/> becomes the
/// consumer's group, and the consumer's automatic commits are turned off (the server commits what it has answered).
/// </summary>
public sealed class RpcServerOptions
{
    /// <summary>The cluster, <c>host:port[,host:port...]</c>.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>The client id the producer and consumer report. Default <c>messaging-rpc-server</c>.</summary>
    public string ClientId { get; set; } = "messaging-rpc-server";

    /// <summary>
    /// <c>security.protocol</c> for every connection the server (its consumer and reply producer) makes. Default <see cref="SecurityProtocol.Plaintext"/>.
    /// When not plaintext, the nested <see cref="Producer"/>, <see cref="Consumer"/> and <see cref="Admin"/> that leave their own at plaintext take this one with
    /// <see cref="Ssl"/> and <see cref="Sasl"/> (one place for a secured cluster's settings); one that sets its own keeps it.
    /// </summary>
    public SecurityProtocol SecurityProtocol { get; set; } = SecurityProtocol.Plaintext;

    /// <summary>TLS settings for <see cref="SecurityProtocol.Ssl"/> and <see cref="SecurityProtocol.SaslSsl"/>, passed to the nested clients with <see cref="SecurityProtocol"/>.</summary>
    public SslOptions Ssl { get; set; } = new();

    /// <summary>SASL settings for <see cref="SecurityProtocol.SaslPlaintext"/> and <see cref="SecurityProtocol.SaslSsl"/>, passed to the nested clients with <see cref="SecurityProtocol"/>.</summary>
    public SaslOptions Sasl { get; set; } = new();

    /// <summary>The topics the server takes requests from (at least one), each a legal Kafka topic name: at most 249 ASCII letters, digits, '.', '_' and '-', neither "." nor "..".</summary>
    public IList<string> RequestTopics { get; set; } = new List<string>();

    /// <summary>The consumer group the server's instances share (requests are spread over them by partition). Required.</summary>
    public string GroupId { get; set; } = "";

    /// <summary>The most requests admitted at once (handlers running or replies unacknowledged); beyond it the server takes no more records until one finishes. Default 256.</summary>
    public int MaxConcurrentRequests { get; set; } = 256;

    /// <summary>
    /// The most requests of one method running at once, so one slow method cannot take every slot; a request beyond it
    /// holds its partition (paused) until one of the method's requests finishes, while other partitions flow. Default
    /// 128. <see cref="MethodConcurrency"/> overrides it per method.
    /// </summary>
    public int MaxConcurrentRequestsPerMethod { get; set; } = 128;

    /// <summary>Per-method limits by method name, overriding <see cref="MaxConcurrentRequestsPerMethod"/>.</summary>
    public IDictionary<string, int> MethodConcurrency { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>
    /// When true, requests with the same key run one after another (each waits until the previous one's reply is
    /// acknowledged); requests without a key are not ordered. Default false: requests run concurrently.
    /// </summary>
    public bool PreserveKeyOrder { get; set; }

    /// <summary>What to do with a request whose deadline passed before its handler could run. Default <see cref="RpcExpiredRequestPolicy.Drop"/>.</summary>
    public RpcExpiredRequestPolicy ExpiredRequests { get; set; } = RpcExpiredRequestPolicy.Drop;

    /// <summary>How long disposal waits for running handlers and their replies before cancelling them. Default 10 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often answered requests are committed (also on revocation and at shutdown). Longer than a timer can wait
    /// (~49.7 days; <see cref="TimeSpan.MaxValue"/>): only on revocation and at shutdown; under a millisecond: every
    /// millisecond. Default 200 ms.
    /// </summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// When true, an Internal reply for a handler exception carries the exception's full text (stack trace included);
    /// default false: its type and message only.
    /// </summary>
    public bool IncludeExceptionDetails { get; set; }

    /// <summary>The codec of typed methods (<see cref="RpcServer.Map{TRequest, TResponse}"/>). Default <see cref="JsonRpcSerializer.Default"/>.</summary>
    public IRpcSerializer Serializer { get; set; } = JsonRpcSerializer.Default;

    /// <summary>The header names of the wire format (must match the callers').</summary>
    public RpcHeaderNames Headers { get; set; } = new();

    /// <summary>The pooled reply payload streams.</summary>
    public RpcPoolOptions Pools { get; set; } = new();

    /// <summary>
    /// The reply producer's settings. Default: low latency and no duplicates — the first records after a quiet moment
    /// go out at once (<see cref="KafkaProducerOptions.SendWhenIdle"/>), acknowledged by all in-sync replicas,
    /// idempotent — and a 5 s close timeout.
    /// </summary>
    public KafkaProducerOptions Producer { get; set; } = new() { Acks = Acks.All, EnableIdempotence = true, CloseTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>
    /// The request consumer's settings. Default: the consumer's own — among them a 500 ms fetch wait, which costs no
    /// latency on Kafka (a waiting fetch is answered as soon as a request is written) and keeps an idle server at two
    /// fetches a second per broker — except that a new group starts from the earliest request (those that expired
    /// meanwhile are skipped cheaply). Its <c>GroupId</c> and <c>EnableAutoCommit</c> are set by the server. The
    /// embedded broker (librdkafka's mock) answers an empty fetch only at the end of its wait: there, set
    /// <c>FetchMaxWait</c> to <c>EmbeddedKafkaCluster.RecommendedFetchMaxWait</c>, or reach it through a
    /// <c>KafkaProxy</c> with <c>AnswerFetchesOnArrival</c>, which answers as Kafka does.
    /// </summary>
    public KafkaConsumerOptions Consumer { get; set; } = new() { AutoOffsetReset = AutoOffsetReset.Earliest };

    /// <summary>The admin client's settings (the server looks up a reply topic before its first reply to it).</summary>
    public KafkaAdminOptions Admin { get; set; } = new();

    /// <summary>
    /// The reply cache (off by default): a request whose correlation ID this instance already answered gets the
    /// stored reply instead of running again — see <see cref="RpcReplyCacheOptions"/> for what it does and does not
    /// guarantee.
    /// </summary>
    public RpcReplyCacheOptions ReplyCache { get; set; } = new();

    /// <summary>
    /// Interceptors around every handler (<see cref="RpcInterceptor.InterceptHandlerAsync"/>), in order: the first is
    /// the outermost. They run after the request is decoded and before the reply is encoded; an exception out of them
    /// becomes the reply's status as a handler's would. Taken when the server is created. Default none.
    /// </summary>
    public IList<RpcInterceptor> Interceptors { get; set; } = [];

    /// <summary>
    /// When true (default), each request's <see cref="RpcCallContext"/> is <see cref="RpcCallContext.Current"/> while
    /// its handler runs, so calls the handler makes through a client with <see cref="RpcDeadlinePropagationInterceptor"/>
    /// inherit its deadline and cancellation. Costs one small allocation per request; turn it off for handlers that
    /// make no calls and when no interceptor is configured.
    /// </summary>
    public bool PropagateCallContext { get; set; } = true;

    /// <summary>The clock for deadlines and commits. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the nested producer and consumer log, unless they set their own. Default none.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>
    /// Checks every setting, nested ones named by their path (<c>Producer.Linger</c>, <c>Pools.BlockSize</c>), the
    /// nested client options as the server uses them: with the server's cluster, client id, security and logging where
    /// they leave them unset, and the consumer with the server's group and automatic commits off (the server commits
    /// what it has answered) — given to copies: this object is not changed. The server runs it when built.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(RequestTopics, nameof(RequestTopics));
        if (RequestTopics.Count == 0)
        {
            throw new ArgumentException("Name at least one request topic.", nameof(RequestTopics));
        }

        foreach (var topic in RequestTopics)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(topic, nameof(RequestTopics));
            if (TopicNames.Problem(topic) is { } problem)
            {
                throw new ArgumentException("Request topic '" + topic + "' is not a topic name Kafka takes: " + problem + ".", nameof(RequestTopics));
            }
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(GroupId, nameof(GroupId));
        ArgumentNullException.ThrowIfNull(MethodConcurrency, nameof(MethodConcurrency));
        ArgumentNullException.ThrowIfNull(Serializer, nameof(Serializer));
        ArgumentNullException.ThrowIfNull(Headers, nameof(Headers));
        ArgumentNullException.ThrowIfNull(Pools, nameof(Pools));
        ArgumentNullException.ThrowIfNull(Producer, nameof(Producer));
        ArgumentNullException.ThrowIfNull(Consumer, nameof(Consumer));
        ArgumentNullException.ThrowIfNull(Admin, nameof(Admin));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequests, 1, nameof(MaxConcurrentRequests));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentRequestsPerMethod, 1, nameof(MaxConcurrentRequestsPerMethod));
        foreach (var (method, limit) in MethodConcurrency)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(MethodConcurrency) + "[" + method + "]");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(DrainTimeout, TimeSpan.Zero, nameof(DrainTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CommitInterval, TimeSpan.Zero, nameof(CommitInterval));
        if (!Enum.IsDefined(ExpiredRequests))
        {
            throw new ArgumentOutOfRangeException(nameof(ExpiredRequests), ExpiredRequests, "Not a defined policy.");
        }

        ArgumentNullException.ThrowIfNull(ReplyCache, nameof(ReplyCache));
        ArgumentNullException.ThrowIfNull(Interceptors, nameof(Interceptors));
        foreach (var interceptor in Interceptors)
        {
            ArgumentNullException.ThrowIfNull(interceptor, nameof(Interceptors));
        }

        ArgumentNullException.ThrowIfNull(Ssl, nameof(Ssl));
        ArgumentNullException.ThrowIfNull(Sasl, nameof(Sasl));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
        var (producer, consumer, admin) = NestedClients(); // as the server will use them
        Headers.Validate();
        NestedOptions.Validate(nameof(Pools), Pools.Validate);
        NestedOptions.Validate(nameof(ReplyCache), ReplyCache.Validate);
        NestedOptions.Validate(nameof(Producer), producer.Validate);
        NestedOptions.Validate(nameof(Consumer), consumer.Validate);
        NestedOptions.Validate(nameof(Admin), admin.Validate);
    }

    /// <summary>
    /// A copy of these settings, so that changes made after a server was built do not reach it: its topics, limits,
    /// interceptors and reply cache bounds, and copies of the nested producer, consumer and admin options as the server uses them (see
    /// <see cref="Validate"/>). The caller's objects are left as they are.
    /// </summary>
    internal RpcServerOptions Copy()
    {
        var copy = (RpcServerOptions)MemberwiseClone();
        copy.RequestTopics = [.. RequestTopics];
        copy.MethodConcurrency = new Dictionary<string, int>(MethodConcurrency, StringComparer.Ordinal);
        copy.Interceptors = [.. Interceptors];
        copy.ReplyCache = ReplyCache.Copy();
        (copy.Producer, copy.Consumer, copy.Admin) = NestedClients();
        return copy;
    }

    /// <summary>Copies of the nested client options, inheriting this object's connection settings where they leave them unset; the consumer in the server's group, committing only what the server commits.</summary>
    private (KafkaProducerOptions Producer, KafkaConsumerOptions Consumer, KafkaAdminOptions Admin) NestedClients()
    {
        var nested = NestedOptions.Resolve(Producer, Consumer, Admin, new NestedOptions.Connection(BootstrapServers, ClientId, SecurityProtocol, Ssl, Sasl, LoggerFactory));
        nested.Consumer.GroupId = GroupId;
        nested.Consumer.EnableAutoCommit = false; // the server commits what it has answered, nothing else
        return nested;
    }

    /// <summary>The limit of <paramref name="method"/>: its own, else the per-method default, never above the global one.</summary>
    internal int LimitFor(string method) =>
        Math.Min(MethodConcurrency.TryGetValue(method, out var limit) ? limit : MaxConcurrentRequestsPerMethod, MaxConcurrentRequests);
}
