namespace Messaging.Perf;

/// <summary>One <c>rpc</c> run's settings, applied alike to both clients.</summary>
/// <param name="Payload">Request payload bytes (the reply echoes it).</param>
/// <param name="FetchWaitMs">Both sides' fetch wait (request consumer and reply consumer).</param>
/// <param name="LingerMs">Both sides' producer linger.</param>
/// <param name="Timeout">Each call's deadline.</param>
/// <param name="LingerAlways">Our producers wait the whole linger like librdkafka's (<c>SendWhenIdle = false</c>) instead of sending at once when no request is in flight.</param>
internal sealed record RpcSettings(int Payload, int FetchWaitMs, int LingerMs, TimeSpan Timeout, bool LingerAlways);
