using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Connection;

/// <summary>
/// The <c>throttle_time_ms</c> of a response nobody waits for any more (its caller cancelled): the read loop drops the
/// response, but the broker throttled the client all the same (KIP-219) and holds back what it is sent meanwhile, so
/// the connection mutes for it as if the caller had read it. The field's place differs by API (first in most bodies,
/// last in Produce's, after the API list in ApiVersions'), so the body is decoded as its type.
/// </summary>
internal static class DroppedResponseThrottle
{
    /// <summary>
    /// The throttle <paramref name="frame"/> (a response to <paramref name="apiKey"/> at <paramref name="version"/>)
    /// carries; 0 when its API has none, or when it does not decode (the caller that would have failed on it is gone).
    /// </summary>
    public static int Read(ApiKey apiKey, short version, ResponseFrame frame, ProtocolLimits limits)
    {
        try
        {
            return apiKey switch
            {
                ApiKey.ApiVersions => Of<ApiVersionsResponse>(frame, version, limits),
                ApiKey.Metadata => Of<MetadataResponse>(frame, version, limits),
                ApiKey.Produce => Of<ProduceResponse>(frame, version, limits),
                ApiKey.Fetch => Of<FetchResponse>(frame, version, limits),
                ApiKey.ListOffsets => Of<ListOffsetsResponse>(frame, version, limits),
                ApiKey.FindCoordinator => Of<FindCoordinatorResponse>(frame, version, limits),
                ApiKey.JoinGroup => Of<JoinGroupResponse>(frame, version, limits),
                ApiKey.SyncGroup => Of<SyncGroupResponse>(frame, version, limits),
                ApiKey.Heartbeat => Of<HeartbeatResponse>(frame, version, limits),
                ApiKey.LeaveGroup => Of<LeaveGroupResponse>(frame, version, limits),
                ApiKey.OffsetCommit => Of<OffsetCommitResponse>(frame, version, limits),
                ApiKey.OffsetFetch => Of<OffsetFetchResponse>(frame, version, limits),
                ApiKey.InitProducerId => Of<InitProducerIdResponse>(frame, version, limits),
                ApiKey.CreateTopics => Of<CreateTopicsResponse>(frame, version, limits),
                ApiKey.DeleteTopics => Of<DeleteTopicsResponse>(frame, version, limits),
                ApiKey.ConsumerGroupHeartbeat => Of<ConsumerGroupHeartbeatResponse>(frame, version, limits),
                _ => 0, // SaslHandshake, SaslAuthenticate: no throttle field
            };
        }
        catch (KafkaProtocolException)
        {
            return 0;
        }
    }

    private static int Of<TResponse>(ResponseFrame frame, short version, ProtocolLimits limits)
        where TResponse : IKafkaResponse<TResponse>, IThrottledResponse =>
        ResponseDecoder.Decode<TResponse>(frame, version, limits).ThrottleTimeMs;
}
