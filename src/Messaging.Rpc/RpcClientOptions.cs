using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Rpc;

/// <summary>
/// The settings of an <see cref="RpcClient"/>. Plain settable properties, so <c>configuration.Bind(options)</c> fills
/// them; validated and copied when the client is built. <see cref="BootstrapServers"/> and <see cref="ClientId"/> are
/// applied to <see cref="Producer"/>, <see cref="Consumer"/> and <see cref="Admin"/> where those leave them unset.
/// </summary>
public sealed class RpcClientOptions
{
    /// <summary>The cluster, <c>host:port[,host:port...]</c>.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>The client id the producer, consumer and admin client report. Default <c>messaging-rpc</c>.</summary>
    public string ClientId { get; set; } = "messaging-rpc";

    /// <summary>
    /// <c>security.protocol</c> for every connection the client (producer, consumer, admin client) makes. Default <see cref="SecurityProtocol.Plaintext"/>.
    /// When not plaintext, the nested <see cref="Producer"/>, <see cref="Consumer"/> and <see cref="Admin"/> that leave their own at plaintext take this one with
    /// <see cref="Ssl"/> and <see cref="Sasl"/> (one place for a secured cluster's settings); one that sets its own keeps it.
    /// </summary>
    public SecurityProtocol SecurityProtocol { get; set; } = SecurityProtocol.Plaintext;

    /// <summary>TLS settings for <see cref="SecurityProtocol.Ssl"/> and <see cref="SecurityProtocol.SaslSsl"/>, passed to the nested clients with <see cref="SecurityProtocol"/>.</summary>
    public SslOptions Ssl { get; set; } = new();

    /// <summary>SASL settings for <see cref="SecurityProtocol.SaslPlaintext"/> and <see cref="SecurityProtocol.SaslSsl"/>, passed to the nested clients with <see cref="SecurityProtocol"/>.</summary>
    public SaslOptions Sasl { get; set; } = new();

    /// <summary>
    /// This client instance's ID: names its per-instance reply topic (with a random suffix of the client's own) and chooses its partition of a shared one. Default
    /// a new random ID per client. Set a stable one (a pod name, say) to keep the same reply partition across restarts. In
    /// <see cref="RpcReplyMode.PerInstanceTopic"/> it is part of a topic name: only ASCII letters, digits, '.', '_' and '-', and
    /// with <see cref="ReplyTopic"/> and the 14 characters the client adds at most 249 characters.
    /// </summary>
    public string InstanceId { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>How replies come back. Default <see cref="RpcReplyMode.SharedTopicOnePartition"/>.</summary>
    public RpcReplyMode ReplyMode { get; set; } = RpcReplyMode.SharedTopicOnePartition;

    /// <summary>
    /// The shared reply topic (in <see cref="RpcReplyMode.PerInstanceTopic"/>, the prefix of this instance's topic). Default <c>messaging-rpc-replies</c>.
    /// A legal Kafka topic name: at most 249 ASCII letters, digits, '.', '_' and '-', neither "." nor "..".
    /// </summary>
    public string ReplyTopic { get; set; } = "messaging-rpc-replies";

    /// <summary>In <see cref="RpcReplyMode.SharedTopicOnePartition"/>, the reply partition to read; null (the default) to choose it from a hash of <see cref="InstanceId"/>.</summary>
    public int? ReplyPartition { get; set; }

    /// <summary>Whether a shared reply topic that does not exist is created at start (with <see cref="ReplyTopicPartitions"/> partitions). Default true.</summary>
    public bool CreateReplyTopic { get; set; } = true;

    /// <summary>The partitions of a shared reply topic the client creates. Default 16.</summary>
    public int ReplyTopicPartitions { get; set; } = 16;

    /// <summary>The replication factor of a reply topic the client creates: -1 (the default) for the broker's default, or at least 1.</summary>
    public short ReplyTopicReplicationFactor { get; set; } = -1;

    /// <summary>How long a call may take when it sets neither timeout nor deadline. Default 30 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long starting may take: reply topic set up, reply partitions assigned and positioned at their end. Default 30 s.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most calls waiting for replies at once; a call beyond it waits (up to its deadline) for one to finish, then fails with <see cref="RpcStatus.ResourceExhausted"/>. Default 10,000.</summary>
    public int MaxPendingCalls { get; set; } = 10_000;

    /// <summary>The most request payload bytes of calls waiting for replies; beyond it a call waits as for <see cref="MaxPendingCalls"/>. Default 64 MiB.</summary>
    public long MaxPendingRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The largest request payload, checked after encoding and before producing (<see cref="RpcStatus.ResourceExhausted"/> beyond it). Default 1,000,000 bytes.</summary>
    public int MaxRequestBytes { get; set; } = 1_000_000;

    /// <summary>
    /// How late past its deadline a call may fail with <see cref="RpcStatus.DeadlineExceeded"/> (besides the timer's own
    /// lateness): calls whose deadlines fall within this of an already armed check share it. The check is armed for the
    /// earliest deadline, not run periodically, so an idle client never wakes for it. Default 10 ms.
    /// </summary>
    public TimeSpan DeadlineCheckInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The codec for typed calls. Default <see cref="JsonRpcSerializer.Default"/>.</summary>
    public IRpcSerializer Serializer { get; set; } = JsonRpcSerializer.Default;

    /// <summary>The header names of the wire format.</summary>
    public RpcHeaderNames Headers { get; set; } = new();

    /// <summary>The pooled payload streams.</summary>
    public RpcPoolOptions Pools { get; set; } = new();

    /// <summary>
    /// The request producer's settings. Default: acks from the leader only, the producer's default 5 ms linger with
    /// <see cref="KafkaProducerOptions.SendWhenIdle"/> — a request goes out at once when none is in flight, and
    /// requests made meanwhile share the next Produce (under load a zero linger would send one request per call, which
    /// costs the client and the broker several times the CPU) — and a 5 s close timeout (disposal fails pending calls
    /// at once; this only bounds how long buffered requests may still go out).
    /// </summary>
    public KafkaProducerOptions Producer { get; set; } = new() { Acks = Acks.Leader, CloseTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>
    /// The reply consumer's settings. Default: the consumer's own, among them a 500 ms fetch wait — a broker answers a
    /// waiting fetch as soon as a reply is written, so the wait costs no latency, and an idle client sends two fetches
    /// a second to each broker instead of a hundred. The embedded broker (librdkafka's mock) answers an empty fetch
    /// only at the end of its wait: there, set <c>FetchMaxWait</c> to <c>EmbeddedKafkaCluster.RecommendedFetchMaxWait</c>,
    /// or reach it through a <c>KafkaProxy</c> with <c>AnswerFetchesOnArrival</c>, which answers as Kafka does.
    /// Its <c>AutoOffsetReset</c> is not used: the client places its reading positions itself (at the reply partitions'
    /// end when it starts), and a position that falls out of the log — the reply topic deleted and created again, or
    /// retention overtaking a stalled client — moves to the log's start, where the replies written since are; reading
    /// from the end would lose them and leave their calls to time out.
    /// </summary>
    public KafkaConsumerOptions Consumer { get; set; } = new();

    /// <summary>The admin client's settings (request topic checks, reply topic set-up).</summary>
    public KafkaAdminOptions Admin { get; set; } = new();

    /// <summary>The clock for deadlines (one-way sends' included), <see cref="StartTimeout"/>, elapsed times, backoffs, hedging delays and circuit breaks. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Retries and hedging of idempotent calls, circuit breakers per request topic.</summary>
    public RpcResilienceOptions Resilience { get; set; } = new();

    /// <summary>
    /// Interceptors around every call (<see cref="RpcInterceptor.InterceptCallAsync"/>), in order: the first is the
    /// outermost. Read when the client is built. Empty by default (then calls pay nothing for them).
    /// </summary>
    public IList<RpcInterceptor> Interceptors { get; set; } = [];

    /// <summary>
    /// The logging of the client (circuit breaker changes, retries, hedges) and of <see cref="Producer"/>,
    /// <see cref="Consumer"/> and <see cref="Admin"/> where those have none of their own. Default: no logging.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>
    /// A copy of these settings, so that changes made after a client was built do not reach it (its own and the
    /// resilience settings, which the client reads per call), with copies of the nested producer, consumer and admin
    /// options that inherit this object's cluster, client id, security and logging where they leave them unset. The
    /// caller's nested options are left as they are: building a client changes nothing the caller holds, and the same
    /// options object, changed, builds the next client as set.
    /// </summary>
    internal RpcClientOptions Copy()
    {
        var copy = (RpcClientOptions)MemberwiseClone();
        copy.Resilience = Resilience.Copy();
        (copy.Producer, copy.Consumer, copy.Admin) = NestedClients();
        return copy;
    }

    /// <summary>Copies of the nested client options, inheriting this object's connection settings where they leave them unset.</summary>
    private (KafkaProducerOptions Producer, KafkaConsumerOptions Consumer, KafkaAdminOptions Admin) NestedClients() =>
        NestedOptions.Resolve(Producer, Consumer, Admin, new NestedOptions.Connection(BootstrapServers, ClientId, SecurityProtocol, Ssl, Sasl, LoggerFactory));

    /// <summary>
    /// Checks every setting, the nested ones included; an <see cref="ArgumentException"/> names the setting by its
    /// path (<c>Resilience.MaxAttempts</c>, <c>Pools.BlockSize</c>, <c>Producer.Linger</c>) in its
    /// <see cref="ArgumentException.ParamName"/> and says the allowed range. The nested client options are checked as
    /// the client uses them: with <see cref="BootstrapServers"/>, <see cref="ClientId"/>, the security settings and
    /// <see cref="LoggerFactory"/> where they leave them unset, given to copies (this object is not changed). The
    /// client runs it when built.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Producer, nameof(Producer));
        ArgumentNullException.ThrowIfNull(Consumer, nameof(Consumer));
        ArgumentNullException.ThrowIfNull(Admin, nameof(Admin));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
        ArgumentNullException.ThrowIfNull(Ssl, nameof(Ssl));
        ArgumentNullException.ThrowIfNull(Sasl, nameof(Sasl));
        var (producer, consumer, admin) = NestedClients(); // as the client will use them
        ArgumentException.ThrowIfNullOrWhiteSpace(InstanceId, nameof(InstanceId));
        ArgumentException.ThrowIfNullOrWhiteSpace(ReplyTopic, nameof(ReplyTopic));
        if (TopicNames.Problem(ReplyTopic) is { } topicProblem)
        {
            throw new ArgumentException("ReplyTopic '" + ReplyTopic + "' is not a topic name Kafka takes: " + topicProblem + ".", nameof(ReplyTopic));
        }

        if (!Enum.IsDefined(ReplyMode))
        {
            throw new ArgumentException("ReplyMode must be SharedTopicOnePartition, PerInstanceTopic or SharedTopicAllPartitions.", nameof(ReplyMode));
        }

        if (ReplyMode == RpcReplyMode.PerInstanceTopic && TopicNames.Problem(ReplyTopics.PerInstanceName(ReplyTopic, InstanceId)) is { } instanceProblem)
        {
            throw new ArgumentException("InstanceId '" + InstanceId + "' makes a per-instance reply topic name (ReplyTopic-InstanceId- and 12 random hex digits) Kafka does not take: "
                + instanceProblem + ".", nameof(InstanceId));
        }

        ArgumentNullException.ThrowIfNull(Serializer, nameof(Serializer));
        ArgumentNullException.ThrowIfNull(Headers, nameof(Headers));
        ArgumentNullException.ThrowIfNull(Pools, nameof(Pools));
        ArgumentNullException.ThrowIfNull(Producer, nameof(Producer));
        ArgumentNullException.ThrowIfNull(Consumer, nameof(Consumer));
        ArgumentNullException.ThrowIfNull(Admin, nameof(Admin));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(Resilience, nameof(Resilience));
        ArgumentNullException.ThrowIfNull(Interceptors, nameof(Interceptors));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
        foreach (var interceptor in Interceptors)
        {
            ArgumentNullException.ThrowIfNull(interceptor, nameof(Interceptors));
        }

        if (ReplyPartition is { } partition)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(partition, nameof(ReplyPartition));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ReplyTopicPartitions, 1, nameof(ReplyTopicPartitions));
        if (ReplyTopicReplicationFactor is 0 or < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(ReplyTopicReplicationFactor), ReplyTopicReplicationFactor,
                "ReplyTopicReplicationFactor must be -1 (the broker's default) or at least 1.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DefaultTimeout, TimeSpan.Zero, nameof(DefaultTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartTimeout, TimeSpan.Zero, nameof(StartTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingCalls, 1, nameof(MaxPendingCalls));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestBytes, 0, nameof(MaxRequestBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingRequestBytes, MaxRequestBytes, nameof(MaxPendingRequestBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DeadlineCheckInterval, TimeSpan.Zero, nameof(DeadlineCheckInterval));
        Headers.Validate();
        NestedOptions.Validate(nameof(Pools), Pools.Validate);
        NestedOptions.Validate(nameof(Resilience), Resilience.Validate);
        NestedOptions.Validate(nameof(Producer), producer.Validate);
        NestedOptions.Validate(nameof(Consumer), consumer.Validate);
        NestedOptions.Validate(nameof(Admin), admin.Validate);
    }
}
