using System.Text;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>The proxy's SASL server answers as Kafka's does, so a client tested against it meets no surprise at a real broker.</summary>
public sealed class SaslServerSessionTests
{
    private static readonly KafkaProxyOptions Options = new() { Users = { ["alice"] = "alice-secret", ["bob"] = "bob-secret" } };

    [Fact]
    public void Plain_refuses_an_authorization_id_other_than_the_user_as_kafka_does()
    {
        // Kafka's PlainSaslServer: an authzid, when given, must be the user; otherwise alice could act as bob.
        var (_, error) = new SaslServerSession("PLAIN", Options).Step(Encoding.UTF8.GetBytes("bob\0alice\0alice-secret"));
        Assert.Equal("Authentication failed: Client requested an authorization id that is different from username", error);

        var asHerself = new SaslServerSession("PLAIN", Options);
        Assert.Null(asHerself.Step(Encoding.UTF8.GetBytes("alice\0alice\0alice-secret")).Error);
        Assert.Equal("alice", asHerself.User);

        var without = new SaslServerSession("PLAIN", Options);
        Assert.Null(without.Step(Encoding.UTF8.GetBytes("\0alice\0alice-secret")).Error);
        Assert.Equal("alice", without.User);
    }
}
