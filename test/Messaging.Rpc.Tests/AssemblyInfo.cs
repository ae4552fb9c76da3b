using Messaging.Testing.Brokers;

// One broker fixture for the whole run: a container (MESSAGING_TEST_BROKER=container) starts once.
[assembly: AssemblyFixture(typeof(TestBrokerFixture))]
