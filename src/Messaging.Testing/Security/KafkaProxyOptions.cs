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
}
