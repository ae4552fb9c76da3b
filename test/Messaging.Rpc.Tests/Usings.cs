// Core's public namespaces the RPC tests use, named once here.
global using Messaging.Consumer;
global using Messaging.Producer;
global using Messaging.Records;
