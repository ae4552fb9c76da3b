namespace Messaging.Testing.Brokers;

/// <summary>Which broker a test runs against; chosen with the <c>MESSAGING_TEST_BROKER</c> environment variable.</summary>
public enum TestBrokerKind
{
    /// <summary><c>embedded</c> (the default): an in-process <see cref="EmbeddedKafkaCluster"/> per test, with fault injection.</summary>
    Embedded,

    /// <summary><c>container</c>: one real Apache Kafka in Docker (Testcontainers), shared by the test run; no fault injection.</summary>
    Container,

    /// <summary><c>external</c>: the Kafka at <c>MESSAGING_BOOTSTRAP_SERVERS</c>; no fault injection.</summary>
    External,
}
