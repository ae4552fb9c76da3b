
namespace Messaging.Testing;

/// <summary>
/// Fault injection on a test broker: what a test may do to the cluster under a client.
/// The embedded broker implements all of it; brokers that cannot inject faults expose none.
/// </summary>
public interface IKafkaFaultInjector
{
    /// <summary>Takes a broker down: its listener closes and its client connections are dropped.</summary>
    void SetBrokerDown(int brokerId);

    /// <summary>Brings a broker taken down by <see cref="SetBrokerDown"/> back up.</summary>
    void SetBrokerUp(int brokerId);

    /// <summary>Delays every response from a broker by <paramref name="delay"/> (round-trip time); zero removes it.</summary>
    void SetBrokerRoundTripDelay(int brokerId, TimeSpan delay);

    /// <summary>Makes the next requests of <paramref name="apiKey"/> to any broker fail with these errors, one each, in order.</summary>
    void PushRequestErrors(ApiKey apiKey, params ReadOnlySpan<ErrorCode> errors);

    /// <summary>Makes the next requests of <paramref name="apiKey"/> to one broker fail with these errors, one each, in order.</summary>
    void PushBrokerRequestErrors(int brokerId, ApiKey apiKey, params ReadOnlySpan<ErrorCode> errors);

    /// <summary>
    /// Like <see cref="PushBrokerRequestErrors(int, ApiKey, ReadOnlySpan{ErrorCode})"/>, and each failing response is
    /// also held back by its delay (an error of <see cref="ErrorCode.None"/> with a delay just slows a request down).
    /// </summary>
    void PushBrokerRequestErrors(int brokerId, ApiKey apiKey, params ReadOnlySpan<(ErrorCode Error, TimeSpan Delay)> errors);

    /// <summary>Forgets the errors pushed cluster-wide for <paramref name="apiKey"/> that were not used yet.</summary>
    void ClearRequestErrors(ApiKey apiKey);

    /// <summary>Moves a partition's leadership to another broker.</summary>
    void SetPartitionLeader(string topic, int partition, int brokerId);

    /// <summary>Makes <paramref name="brokerId"/> the coordinator of a consumer group.</summary>
    void SetGroupCoordinator(string groupId, int brokerId);

    /// <summary>Makes <paramref name="brokerId"/> the coordinator of a transactional id.</summary>
    void SetTransactionCoordinator(string transactionalId, int brokerId);

    /// <summary>Starts recording the requests every broker receives (see <see cref="GetTrackedRequests"/>).</summary>
    void StartRequestTracking();

    /// <summary>Stops recording requests; what was recorded stays until <see cref="ClearTrackedRequests"/>.</summary>
    void StopRequestTracking();

    /// <summary>The requests recorded so far, in arrival order.</summary>
    IReadOnlyList<TrackedRequest> GetTrackedRequests();

    /// <summary>Forgets the recorded requests.</summary>
    void ClearTrackedRequests();
}
