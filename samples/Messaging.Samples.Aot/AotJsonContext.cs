using System.Text.Json;
using System.Text.Json.Serialization;

namespace Messaging.Samples.Aot;

/// <summary>A quote request: how many of which item.</summary>
internal sealed record Quote(string Sku, int Quantity);

/// <summary>The price of a quote.</summary>
internal sealed record Price(string Sku, decimal Total);

/// <summary>The RPC messages' JSON metadata, generated at build time (native AOT has no reflection-based serialization).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Quote))]
[JsonSerializable(typeof(Price))]
internal sealed partial class AotJsonContext : JsonSerializerContext;
