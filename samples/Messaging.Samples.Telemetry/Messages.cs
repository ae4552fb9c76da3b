namespace Messaging.Samples.Telemetry;

/// <summary>Price's request: how many of which item.</summary>
public sealed record PriceRequest(string Sku, int Quantity);

/// <summary>Price's reply: the total in cents.</summary>
public sealed record PriceReply(long TotalCents);
