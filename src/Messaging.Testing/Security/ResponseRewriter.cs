using System.Buffers.Binary;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Testing.Security;

/// <summary>
/// Rewrites the responses a client must see differently through the proxy: broker addresses in Metadata,
/// FindCoordinator and the NodeEndpoints of Produce and Fetch (<see cref="NodeEndpointsRewriter"/>) become the proxy's
/// listeners, and ApiVersions offers SASL, CreateTopics and DeleteTopics when the proxy answers them, and only the
/// Metadata, FindCoordinator, Produce and Fetch versions the proxy can rewrite. Returns null to pass a frame on unchanged.
/// </summary>
internal static class ResponseRewriter
{
    public static byte[]? Rewrite(KafkaProxy proxy, ApiKey api, short version, byte[] frame)
    {
        try
        {
            return api switch
            {
                ApiKey.ApiVersions => RewriteApiVersions(proxy, version, frame),
                ApiKey.Metadata => RewriteMetadata(proxy, version, frame),
                ApiKey.FindCoordinator => RewriteFindCoordinator(proxy, version, frame),
                ApiKey.Produce or ApiKey.Fetch => NodeEndpointsRewriter.Rewrite(proxy, api, version, frame),
                _ => null,
            };
        }
        catch (KafkaProtocolException)
        {
            return null; // e.g. an ApiVersions error answered in the v0 layout: nothing to rewrite
        }
    }

    private static byte[]? RewriteApiVersions(KafkaProxy proxy, short version, byte[] frame)
    {
        if (version > ApiVersionsResponse.MaxVersion)
        {
            return null;
        }

        var response = Read<ApiVersionsResponse>(frame, version, out var correlationId);
        if (response.ErrorCode != ErrorCode.None)
        {
            return null;
        }

        var keys = new List<ApiVersionsResponse.ApiVersion>();
        foreach (var key in response.ApiKeys)
        {
            if (key.ApiKey is ApiKey.SaslHandshake or ApiKey.SaslAuthenticate)
            {
                continue;
            }

            if (key.ApiKey == ApiKey.Metadata)
            {
                Clamp(key, MetadataResponse.MinVersion, MetadataResponse.MaxVersion);
            }
            else if (key.ApiKey == ApiKey.FindCoordinator)
            {
                Clamp(key, FindCoordinatorResponse.MinVersion, FindCoordinatorResponse.MaxVersion);
            }
            else if (key.ApiKey == ApiKey.Produce)
            {
                Clamp(key, 0, NodeEndpointsRewriter.ProduceLastVersion); // earlier versions carry no NodeEndpoints: passed on as they are
            }
            else if (key.ApiKey == ApiKey.Fetch)
            {
                Clamp(key, 0, NodeEndpointsRewriter.FetchLastVersion);
            }

            keys.Add(key);
        }

        if (proxy.TopicAdministration is not null)
        {
            // Answered by the proxy at these versions, whatever the broker behind it says (the mock offers neither).
            keys.RemoveAll(static k => k.ApiKey is ApiKey.CreateTopics or ApiKey.DeleteTopics);
            keys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.CreateTopics, MinVersion = CreateTopicsCodec.MinVersion, MaxVersion = TopicAdministration.CreateTopicsMaxVersion });
            keys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.DeleteTopics, MinVersion = TopicAdministration.DeleteTopicsMinVersion, MaxVersion = TopicAdministration.DeleteTopicsMaxVersion });
        }

        if (proxy.Options.SaslMechanisms.Count > 0)
        {
            keys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.SaslHandshake, MinVersion = 1, MaxVersion = 1 });
            keys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = ApiKey.SaslAuthenticate, MinVersion = 0, MaxVersion = 2 });
        }

        response.ApiKeys = [.. keys];
        return Write(response, version, correlationId);
    }

    private static void Clamp(ApiVersionsResponse.ApiVersion key, short min, short max)
    {
        key.MinVersion = Math.Max(key.MinVersion, min);
        key.MaxVersion = Math.Min(key.MaxVersion, max);
    }

    private static byte[]? RewriteMetadata(KafkaProxy proxy, short version, byte[] frame)
    {
        if (version < MetadataResponse.MinVersion || version > MetadataResponse.MaxVersion)
        {
            return null;
        }

        var response = Read<MetadataResponse>(frame, version, out var correlationId);
        var controllerIsBroker = false;
        var lowestNode = int.MaxValue;
        foreach (var broker in response.Brokers)
        {
            controllerIsBroker |= broker.NodeId == response.ControllerId;
            lowestNode = Math.Min(lowestNode, broker.NodeId);
            if (proxy.AdvertisedAddress(broker.Host, broker.Port, broker.NodeId) is { } advertised)
            {
                (broker.Host, broker.Port) = advertised;
            }
        }

        if (proxy.TopicAdministration is not null && !controllerIsBroker && response.Brokers.Length > 0)
        {
            // The proxy answers CreateTopics and DeleteTopics on every broker, but librdkafka's admin client sends them
            // only to the controller, and waits for one: the mock reports 0, no broker, until told otherwise.
            response.ControllerId = lowestNode;
        }

        return Write(response, version, correlationId);
    }

    private static byte[]? RewriteFindCoordinator(KafkaProxy proxy, short version, byte[] frame)
    {
        if (version < FindCoordinatorResponse.MinVersion || version > FindCoordinatorResponse.MaxVersion)
        {
            return null;
        }

        var response = Read<FindCoordinatorResponse>(frame, version, out var correlationId);
        if (proxy.AdvertisedAddress(response.Host, response.Port, response.NodeId) is { } single)
        {
            (response.Host, response.Port) = single;
        }

        foreach (var coordinator in response.Coordinators)
        {
            if (proxy.AdvertisedAddress(coordinator.Host, coordinator.Port, coordinator.NodeId) is { } advertised)
            {
                (coordinator.Host, coordinator.Port) = advertised;
            }
        }

        return Write(response, version, correlationId);
    }

    /// <summary>Decodes leniently about trailing bytes (the embedded broker appends one to flexible Metadata responses).</summary>
    private static T Read<T>(byte[] frame, short version, out int correlationId)
        where T : IKafkaMessage<T>
    {
        var reader = new KafkaReader(frame.AsMemory(4));
        correlationId = ResponseHeader.Read(ref reader, ResponseHeader.VersionFor(T.ApiKey, T.IsFlexible(version))).CorrelationId;
        _ = BinaryPrimitives.ReadInt32BigEndian(frame);
        return T.Read(ref reader, version);
    }

    private static byte[] Write<T>(T response, short version, int correlationId)
        where T : IKafkaMessage<T>
    {
        using var output = new ContiguousBufferWriter(1024);
        KafkaFrames.WriteResponse(output, response, version, correlationId);
        return output.WrittenMemory.ToArray();
    }
}
