using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Testing.Security;

/// <summary>
/// CreateTopics at every version the proxy answers: v5 to v7 (flexible) through the generated message, v2 to v4 by hand
/// — librdkafka (Confluent.Kafka's admin client) sends at most v4, which the client library itself never speaks. The
/// three share one layout: v1 added ValidateOnly, v2 the throttle time and error message, v4 only the meaning of -1.
/// </summary>
internal static class CreateTopicsCodec
{
    /// <summary>The lowest version answered: Kafka 4 answers none below (KIP-896).</summary>
    public const short MinVersion = 2;

    /// <summary>Decodes a request (the frame without its size prefix).</summary>
    /// <exception cref="KafkaProtocolException">The bytes are malformed, or the version is not one answered.</exception>
    public static CreateTopicsRequest ReadRequest(ReadOnlyMemory<byte> payload, short version, out int correlationId)
    {
        if (version >= CreateTopicsRequest.MinVersion)
        {
            var request = KafkaFrames.ReadRequest<CreateTopicsRequest>(payload, null, out var header);
            correlationId = header.CorrelationId;
            return request;
        }

        if (version < MinVersion)
        {
            throw new KafkaProtocolException("CreateTopics v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + " is not answered by the proxy.");
        }

        var reader = new KafkaReader(payload) { MessageName = "CreateTopicsRequest" };
        correlationId = RequestHeader.Read(ref reader, 1).CorrelationId;
        var topics = new CreateTopicsRequest.CreatableTopic[reader.ReadArrayLength("Topics")];
        for (var i = 0; i < topics.Length; i++)
        {
            var topic = new CreateTopicsRequest.CreatableTopic
            {
                Name = reader.ReadString("CreatableTopic.Name"),
                NumPartitions = reader.ReadInt32("CreatableTopic.NumPartitions"),
                ReplicationFactor = reader.ReadInt16("CreatableTopic.ReplicationFactor"),
            };
            topic.Assignments = new CreateTopicsRequest.CreatableReplicaAssignment[reader.ReadArrayLength("CreatableTopic.Assignments")];
            for (var a = 0; a < topic.Assignments.Length; a++)
            {
                var assignment = new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = reader.ReadInt32("CreatableReplicaAssignment.PartitionIndex") };
                assignment.BrokerIds = new int[reader.ReadArrayLength("CreatableReplicaAssignment.BrokerIds")];
                for (var b = 0; b < assignment.BrokerIds.Length; b++)
                {
                    assignment.BrokerIds[b] = reader.ReadInt32("CreatableReplicaAssignment.BrokerIds");
                }

                topic.Assignments[a] = assignment;
            }

            topic.Configs = new CreateTopicsRequest.CreatableTopicConfig[reader.ReadArrayLength("CreatableTopic.Configs")];
            for (var c = 0; c < topic.Configs.Length; c++)
            {
                topic.Configs[c] = new CreateTopicsRequest.CreatableTopicConfig
                {
                    Name = reader.ReadString("CreatableTopicConfig.Name"),
                    Value = reader.ReadNullableString("CreatableTopicConfig.Value"),
                };
            }

            topics[i] = topic;
        }

        var result = new CreateTopicsRequest
        {
            Topics = topics,
            TimeoutMs = reader.ReadInt32("TimeoutMs"),
            ValidateOnly = reader.ReadBoolean("ValidateOnly"),
        };
        reader.EnsureEnd();
        return result;
    }

    /// <summary>Writes a response, size prefix included.</summary>
    public static void WriteResponse(ContiguousBufferWriter output, CreateTopicsResponse response, short version, int correlationId)
    {
        if (version >= CreateTopicsResponse.MinVersion)
        {
            KafkaFrames.WriteResponse(output, response, version, correlationId);
            return;
        }

        // v2 to v4: the throttle time first, then per topic its name, error code and message (none of v5's details).
        var writer = new KafkaWriter(output);
        var size = writer.ReserveInt32();
        writer.WriteInt32(correlationId);
        writer.WriteInt32(response.ThrottleTimeMs);
        writer.WriteArrayLength(response.Topics.Length);
        foreach (var topic in response.Topics)
        {
            writer.WriteString(topic.Name);
            writer.WriteInt16((short)topic.ErrorCode);
            writer.WriteNullableString(topic.ErrorMessage);
        }

        writer.WriteReservedInt32(size, writer.BytesSince(size));
        writer.Flush();
    }
}
