using System.Security.Cryptography.X509Certificates;

namespace Messaging.Testing.Security;

/// <summary>What a <see cref="KafkaProxy"/> asks of its clients: TLS, SASL, both or neither.</summary>
public sealed class KafkaProxyOptions
{
    /// <summary>When set, clients must speak TLS to the proxy, which presents this certificate (with its private key); see <see cref="TestCertificateAuthority"/>.</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    /// <summary>When set (with <see cref="ServerCertificate"/>), clients must present a certificate issued by this CA (mTLS).</summary>
    public X509Certificate2? RequiredClientCa { get; set; }

    /// <summary>The SASL mechanisms clients must authenticate with (e.g. <c>PLAIN</c>, <c>SCRAM-SHA-256</c>); empty for no SASL.</summary>
    public IList<string> SaslMechanisms { get; } = [];

    /// <summary>Users and passwords for PLAIN and SCRAM.</summary>
    public IDictionary<string, string> Users { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Decides whether an OAUTHBEARER token is valid; null refuses every token.</summary>
    public Func<string, bool>? OAuthBearerValidator { get; set; }

    /// <summary>The SASL session lifetime announced to clients (KIP-368); zero for none.</summary>
    public TimeSpan SessionLifetime { get; set; }

    /// <summary>Makes the SCRAM server send a wrong server signature, as a broker that does not know the password would.</summary>
    public bool SendWrongScramServerSignature { get; set; }

    /// <summary>
    /// Makes the proxy answer CreateTopics and DeleteTopics itself, with the native topic calls of the
    /// <see cref="EmbeddedKafkaCluster"/> it stands in front of (librdkafka's mock cluster implements neither API), and
    /// offer both in the ApiVersions it passes on. Only for <see cref="KafkaProxy.Start(EmbeddedKafkaCluster, KafkaProxyOptions?)"/>;
    /// default false.
    /// </summary>
    /// <remarks>
    /// <para>Answered as a Kafka broker does, per topic: TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION (an illegal name, or
    /// one that collides with an existing topic once '.' and '_' are taken as the same), INVALID_PARTITIONS and
    /// INVALID_REPLICATION_FACTOR (below 1 other than -1, or more replicas than brokers), INVALID_REQUEST (a topic named
    /// twice in one request), UNKNOWN_TOPIC_OR_PARTITION and UNKNOWN_TOPIC_ID for deletes. -1 takes the broker's defaults:
    /// 4 partitions (what the mock gives topics it creates automatically) and a replication factor of 1 (Kafka's
    /// <c>default.replication.factor</c>). <c>ValidateOnly</c> checks without creating.</para>
    /// <para>Limits of the mock: topic configurations are accepted and ignored (the mock has none; responses list none),
    /// and an explicit replica assignment is refused with INVALID_REPLICA_ASSIGNMENT (the mock places replicas itself).
    /// Versions answered: CreateTopics 2 to 7, DeleteTopics 4 to 6. Metadata responses whose controller is no broker
    /// (the mock reports 0 until <see cref="EmbeddedKafkaCluster.SetControllerId"/>) name the lowest broker id instead, so
    /// clients that wait for a controller before sending these requests (librdkafka's admin client) find one.</para>
    /// </remarks>
    public bool AnswerTopicAdministration { get; set; }

    /// <summary>
    /// Makes the proxy answer a waiting Fetch as a Kafka broker does: as soon as the records it asks for arrive (at least
    /// its <c>MinBytes</c>; one that asks for none at once), or an error, and with what the log holds when its <c>MaxWaitMs</c>
    /// ends (counted, as on a broker, from when the request has passed the listener's latency). Default false.
    /// </summary>
    /// <remarks>
    /// <para>librdkafka's mock cluster (the <see cref="EmbeddedKafkaCluster"/>) looks at the log once, when a Fetch arrives,
    /// and answers one that found nothing only when its whole wait has passed: a record produced a moment after the
    /// consumer's fetch went out waits out the rest of that wait, so every hop through a topic costs up to a fetch wait
    /// (clients there need a short wait, <see cref="EmbeddedKafkaCluster.RecommendedFetchMaxWait"/>). With this option the
    /// proxy sends the broker each such Fetch without its wait, holds a response that found too little, and asks
    /// again whenever the response to a request that writes to a log (Produce, EndTxn, DeleteRecords) or removes
    /// partitions (DeleteTopics, CreatePartitions) passes through any of its connections — and at least every
    /// <see cref="FetchRecheckInterval"/>, for records written other than through the proxy. The response the client
    /// gets is the broker's own, passed through the listener's faults once; the asks in between are not counted as
    /// requests (<see cref="ProxyFaults.Requests"/>).</para>
    /// <para>As on a broker, the connection's later requests are read only once the held Fetch is answered (Kafka
    /// handles one request per connection at a time). Fetch versions 12 to 17 are held; older ones pass through with
    /// the broker's own wait. A Produce with <c>acks=0</c> has no response: its records are seen at the next recheck.</para>
    /// </remarks>
    public bool AnswerFetchesOnArrival { get; set; }

    /// <summary>
    /// With <see cref="AnswerFetchesOnArrival"/>, the longest a held Fetch goes without looking at the log again: the
    /// delay before it sees records written other than through the proxy. Default 50 ms.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public TimeSpan FetchRecheckInterval
    {
        get => _fetchRecheckInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _fetchRecheckInterval = value;
        }
    }

    private TimeSpan _fetchRecheckInterval = TimeSpan.FromMilliseconds(50);
}
