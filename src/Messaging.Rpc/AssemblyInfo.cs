// Messaging.Rpc: request/reply over Kafka topics. Filled in once the producer and consumer exist;
// it uses only Messaging.Core's public API.
[assembly: System.CLSCompliant(false)]
