// Core's public namespaces the RPC layer uses, named once here so that a move of Core's public types between
// namespaces touches one file.
global using Messaging.Admin;
global using Messaging.Cluster;
global using Messaging.Consumer;
global using Messaging.Errors;
global using Messaging.Producer;
global using Messaging.Records;
