
namespace Messaging.Testing;

/// <summary>One request a broker of the embedded cluster received while request tracking was on.</summary>
/// <param name="BrokerId">The broker that received it.</param>
/// <param name="ApiKey">The request's API key.</param>
/// <param name="MonotonicMicroseconds">
/// When it arrived, in microseconds of librdkafka's monotonic clock: good for ordering and for the time
/// between two requests, not a wall-clock time.
/// </param>
public readonly record struct TrackedRequest(int BrokerId, ApiKey ApiKey, long MonotonicMicroseconds);
