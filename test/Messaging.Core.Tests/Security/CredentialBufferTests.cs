using System.Text;
using Messaging.Connection;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol;
using Messaging.Security;

namespace Messaging.Core.Tests.Security;

/// <summary>
/// Credentials do not outlive the SASL exchange in the process-wide request buffers: a PLAIN password (or a bearer
/// token) encoded into a SaslAuthenticate request must not stay in a pooled buffer that later requests only partly overwrite.
/// </summary>
[Collection(Name)]
public sealed class CredentialBufferTests
{
    /// <summary>Run alone: a parallel test renting the pooled buffers would hide (or overwrite) what this one looks for.</summary>
    public const string Name = "The process-wide request buffers, inspected";

    [Fact(Timeout = 20_000)]
    public async Task The_encoded_PLAIN_password_is_wiped_from_the_pooled_request_buffer()
    {
        var ct = TestContext.Current.CancellationToken;
        var password = "pw-" + Guid.NewGuid().ToString("N");
        var broker = new InMemoryBroker();
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker.test:9092", TransportFactory = broker })
        {
            Authenticator = new SaslAuthenticator(new PlainMechanism("alice", password), TimeProvider.System),
        };

        await using (await BrokerConnection.ConnectAsync(new BrokerEndpoint("broker.test", 9092, NodeId: 1), settings, ct))
        {
            Assert.Equal(1, broker.Authentications);
        }

        // Every pooled buffer, whole (not only what its last request wrote): the password is in none of them.
        var needle = Encoding.UTF8.GetBytes(password);
        var rented = new List<ContiguousBufferWriter>();
        try
        {
            for (var i = 0; i < RequestBuffers.PoolSize; i++)
            {
                var writer = RequestBuffers.Rent();
                rented.Add(writer);
                Assert.True(writer.GetSpan().IndexOf(needle) < 0, "The password is still in pooled request buffer " + i + ".");
            }
        }
        finally
        {
            foreach (var writer in rented)
            {
                RequestBuffers.Return(writer);
            }
        }
    }
}

[CollectionDefinition(CredentialBufferTests.Name, DisableParallelization = true)]
public sealed class CredentialBufferCollection
{
}
