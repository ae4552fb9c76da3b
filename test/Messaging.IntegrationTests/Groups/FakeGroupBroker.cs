using System.Buffers.Binary;
using System.Collections.Concurrent;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A one-broker classic group coordinator on loopback, at the flexible versions (JoinGroup v9, SyncGroup v5,
/// Heartbeat v4, LeaveGroup v5, FindCoordinator v6): what the embedded cluster cannot do — well-formed error
/// responses for every JoinGroup error (its injected ones do not decode: null non-nullable fields), MEMBER_ID_REQUIRED
/// with a member id, and static membership (KIP-345: a known group instance id rejoining gets the group's current
/// generation and its old assignment, with no rebalance). One member at a time is enough for what it tests:
/// each JoinGroup answers at once; a new dynamic member, a changed member set or the leader rejoining with its member id
/// starts a new generation. Its metadata lists the topics given to <see cref="SetPartitions"/>, and OffsetFetch finds no
/// committed offsets.
/// </summary>
internal sealed class FakeGroupBroker : FakeKafkaBroker
{
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<ApiKey, ConcurrentQueue<ErrorCode>> _errors = new();
    private readonly Dictionary<string, string?> _members = new(StringComparer.Ordinal); // member id -> instance id
    private readonly Dictionary<string, ReadOnlyMemory<byte>> _assignments = new(StringComparer.Ordinal); // by member id
    private readonly Dictionary<string, (Guid Id, int Partitions)> _topics = new(StringComparer.Ordinal);
    private int _nextMember;
    private bool _commitsLoading;

    private FakeGroupBroker() => StartAccepting();

    public static FakeGroupBroker Start() => new();

    /// <summary>The generation; it moves only when the member set changes.</summary>
    public int Generation { get; private set; }

    /// <summary>Every JoinGroup received: the member id and instance id it carried.</summary>
    public ConcurrentQueue<(string MemberId, string? InstanceId)> Joins { get; } = new();

    /// <summary>LeaveGroup requests received.</summary>
    public int Leaves;

    /// <summary>Every OffsetCommit received: the generation and member id it carried.</summary>
    public ConcurrentQueue<(int Generation, string MemberId)> Commits { get; } = new();

    /// <summary>The last offset the coordinator took for each partition.</summary>
    public ConcurrentDictionary<TopicPartition, long> CommittedOffsets { get; } = new();

    /// <summary>While true, every OffsetCommit is answered COORDINATOR_LOAD_IN_PROGRESS (a commit kept retrying).</summary>
    public bool CommitsLoading
    {
        get => Volatile.Read(ref _commitsLoading);
        set => Volatile.Write(ref _commitsLoading, value);
    }

    /// <summary>OffsetFetch requests received.</summary>
    public int OffsetFetches;

    /// <summary>While true, OffsetCommit and OffsetFetch get no answer (a coordinator that stopped answering them).</summary>
    public bool OffsetsUnanswered { get; set; }

    /// <summary>How long JoinGroup responses are held back (a join in flight for a while).</summary>
    public TimeSpan JoinDelay { get; set; }

    /// <summary>SyncGroup requests received.</summary>
    public int Syncs;

    /// <summary>How long SyncGroup responses are held back (a follower's sync waiting for the leader's assignment).</summary>
    public TimeSpan SyncDelay { get; set; }

    /// <summary>How long Heartbeat responses are held back (a coordinator that stopped answering).</summary>
    public TimeSpan HeartbeatDelay { get; set; }

    /// <summary>How long FindCoordinator responses are held back (a coordinator that takes a while to find again).</summary>
    public TimeSpan FindCoordinatorDelay { get; set; }

    /// <summary>How long LeaveGroup responses are held back (a coordinator that does not answer a leaving member).</summary>
    public TimeSpan LeaveDelay { get; set; }

    /// <summary>Lists <paramref name="topic"/> in the metadata with <paramref name="partitions"/> partitions (led by this broker).</summary>
    public void SetPartitions(string topic, int partitions)
    {
        lock (_lock)
        {
            _topics[topic] = (_topics.TryGetValue(topic, out var known) ? known.Id : Guid.NewGuid(), partitions);
        }
    }

    /// <summary>Answers the next successful SyncGroups with these bytes instead of the member's assignment, one each.</summary>
    public ConcurrentQueue<byte[]> SyncAnswers { get; } = new();

    public void PushErrors(ApiKey apiKey, params ErrorCode[] errors)
    {
        var queue = _errors.GetOrAdd(apiKey, static _ => new ConcurrentQueue<ErrorCode>());
        foreach (var error in errors)
        {
            queue.Enqueue(error);
        }
    }

    private ErrorCode NextError(ApiKey apiKey) => _errors.TryGetValue(apiKey, out var queue) && queue.TryDequeue(out var error) ? error : ErrorCode.None;

    protected override TimeSpan Answer(byte[] frame, ContiguousBufferWriter output)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        switch (apiKey)
        {
            case ApiKey.ApiVersions:
            {
                KafkaFrames.ReadRequest<ApiVersionsRequest>(frame, null, out var header);
                var response = new ApiVersionsResponse
                {
                    ApiKeys =
                    [
                        new() { ApiKey = ApiKey.ApiVersions, MinVersion = 0, MaxVersion = 4 },
                        new() { ApiKey = ApiKey.Metadata, MinVersion = 9, MaxVersion = 12 },
                        new() { ApiKey = ApiKey.FindCoordinator, MinVersion = 0, MaxVersion = 6 },
                        new() { ApiKey = ApiKey.JoinGroup, MinVersion = 0, MaxVersion = 9 },
                        new() { ApiKey = ApiKey.SyncGroup, MinVersion = 0, MaxVersion = 5 },
                        new() { ApiKey = ApiKey.Heartbeat, MinVersion = 0, MaxVersion = 4 },
                        new() { ApiKey = ApiKey.LeaveGroup, MinVersion = 0, MaxVersion = 5 },
                        new() { ApiKey = ApiKey.OffsetCommit, MinVersion = 2, MaxVersion = 8 },
                        new() { ApiKey = ApiKey.OffsetFetch, MinVersion = 1, MaxVersion = 7 },
                    ],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                break;
            }

            case ApiKey.Metadata:
            {
                KafkaFrames.ReadRequest<MetadataRequest>(frame, null, out var header);
                var response = new MetadataResponse { Brokers = [new() { NodeId = 1, Host = "127.0.0.1", Port = Port }], ClusterId = "fake-group", ControllerId = 1 };
                lock (_lock)
                {
                    response.Topics = [.. _topics.Select(t => new MetadataResponse.MetadataResponseTopic
                    {
                        Name = t.Key,
                        TopicId = t.Value.Id,
                        Partitions = [.. Enumerable.Range(0, t.Value.Partitions).Select(p => new MetadataResponse.MetadataResponsePartition { PartitionIndex = p, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] })],
                    })];
                }

                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                break;
            }

            case ApiKey.FindCoordinator:
            {
                var request = KafkaFrames.ReadRequest<FindCoordinatorRequest>(frame, null, out var header);
                var response = new FindCoordinatorResponse
                {
                    Coordinators = [.. request.CoordinatorKeys.Select(key => new FindCoordinatorResponse.Coordinator { Key = key, NodeId = 1, Host = "127.0.0.1", Port = Port, ErrorMessage = null })],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return FindCoordinatorDelay;
            }

            case ApiKey.JoinGroup:
            {
                var request = KafkaFrames.ReadRequest<JoinGroupRequest>(frame, null, out var header);
                Joins.Enqueue((request.MemberId, request.GroupInstanceId));
                KafkaFrames.WriteResponse(output, Join(request), version, header.CorrelationId);
                return JoinDelay;
            }

            case ApiKey.SyncGroup:
            {
                var request = KafkaFrames.ReadRequest<SyncGroupRequest>(frame, null, out var header);
                Interlocked.Increment(ref Syncs);
                var error = NextError(ApiKey.SyncGroup);
                var response = new SyncGroupResponse { ErrorCode = error, ProtocolType = request.ProtocolType, ProtocolName = request.ProtocolName };
                lock (_lock)
                {
                    if (error == ErrorCode.None && !_members.ContainsKey(request.MemberId))
                    {
                        response.ErrorCode = ErrorCode.UnknownMemberId;
                    }
                    else if (error == ErrorCode.None && request.GenerationId != Generation)
                    {
                        response.ErrorCode = ErrorCode.IllegalGeneration;
                    }
                    else if (error == ErrorCode.None)
                    {
                        foreach (var assignment in request.Assignments)
                        {
                            _assignments[assignment.MemberId] = assignment.Assignment.ToArray();
                        }

                        response.Assignment = SyncAnswers.TryDequeue(out var answer) ? answer
                            : _assignments.TryGetValue(request.MemberId, out var mine) ? mine : default;
                    }
                }

                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return SyncDelay;
            }

            case ApiKey.Heartbeat:
            {
                var request = KafkaFrames.ReadRequest<HeartbeatRequest>(frame, null, out var header);
                var error = NextError(ApiKey.Heartbeat);
                lock (_lock)
                {
                    if (error == ErrorCode.None)
                    {
                        error = !_members.ContainsKey(request.MemberId) ? ErrorCode.UnknownMemberId
                            : request.GenerationId != Generation ? ErrorCode.IllegalGeneration
                            : ErrorCode.None;
                    }
                }

                KafkaFrames.WriteResponse(output, new HeartbeatResponse { ErrorCode = error }, version, header.CorrelationId);
                return HeartbeatDelay;
            }

            case ApiKey.LeaveGroup:
            {
                var request = KafkaFrames.ReadRequest<LeaveGroupRequest>(frame, null, out var header);
                Interlocked.Increment(ref Leaves);
                lock (_lock)
                {
                    foreach (var member in request.Members)
                    {
                        _members.Remove(member.MemberId);
                        Generation++;
                    }
                }

                KafkaFrames.WriteResponse(output, new LeaveGroupResponse { Members = [.. request.Members.Select(m => new LeaveGroupResponse.MemberResponse { MemberId = m.MemberId, GroupInstanceId = m.GroupInstanceId })] }, version, header.CorrelationId);
                return LeaveDelay;
            }

            case ApiKey.OffsetCommit:
            {
                var request = KafkaFrames.ReadRequest<OffsetCommitRequest>(frame, null, out var header);
                Commits.Enqueue((request.GenerationIdOrMemberEpoch, request.MemberId));
                var error = NextError(ApiKey.OffsetCommit);
                lock (_lock)
                {
                    error = error != ErrorCode.None ? error
                        : CommitsLoading ? ErrorCode.CoordinatorLoadInProgress
                        : request.GenerationIdOrMemberEpoch == -1 && request.MemberId.Length == 0 && _members.Count == 0 ? ErrorCode.None // a standalone commit to an empty group
                        : !_members.ContainsKey(request.MemberId) ? ErrorCode.UnknownMemberId
                        : request.GenerationIdOrMemberEpoch != Generation ? ErrorCode.IllegalGeneration
                        : ErrorCode.None;
                }

                if (error == ErrorCode.None && !OffsetsUnanswered)
                {
                    foreach (var topic in request.Topics)
                    {
                        foreach (var p in topic.Partitions)
                        {
                            CommittedOffsets[new TopicPartition(topic.Name, p.PartitionIndex)] = p.CommittedOffset;
                        }
                    }
                }

                var response = new OffsetCommitResponse
                {
                    Topics = [.. request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
                    {
                        Name = t.Name,
                        Partitions = [.. t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = error })],
                    })],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return OffsetsUnanswered ? NeverAnswer : TimeSpan.Zero;
            }

            case ApiKey.OffsetFetch:
            {
                var request = KafkaFrames.ReadRequest<OffsetFetchRequest>(frame, null, out var header);
                Interlocked.Increment(ref OffsetFetches);
                var response = new OffsetFetchResponse
                {
                    Topics = [.. (request.Topics ?? []).Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
                    {
                        Name = t.Name,
                        Partitions = [.. t.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition { PartitionIndex = p, CommittedOffset = -1 })],
                    })],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return OffsetsUnanswered ? NeverAnswer : TimeSpan.Zero;
            }

            default:
                throw new IOException("The fake group coordinator does not speak " + apiKey);
        }

        return TimeSpan.Zero;
    }

    private JoinGroupResponse Join(JoinGroupRequest request)
    {
        var error = NextError(ApiKey.JoinGroup);
        lock (_lock)
        {
            if (error == ErrorCode.MemberIdRequired || (error == ErrorCode.None && request.MemberId.Length == 0 && request.GroupInstanceId is null))
            {
                // KIP-394: a dynamic member's first join gets a member id and must come back with it.
                return new JoinGroupResponse { ErrorCode = ErrorCode.MemberIdRequired, MemberId = NewMemberId(), Leader = "", ProtocolName = null };
            }

            if (error != ErrorCode.None)
            {
                return new JoinGroupResponse { ErrorCode = error, MemberId = request.MemberId, Leader = "", ProtocolName = null };
            }

            var memberId = request.MemberId;
            var rebalance = true;
            if (_members.ContainsKey(memberId))
            {
                // A known member rejoining: Kafka rebalances when it is the leader (it rejoins for a reason: a partition
                // count it watches changed), and answers the others with the current generation.
                rebalance = memberId == _members.Keys.First();
            }
            else if (request.GroupInstanceId is { } instance)
            {
                // KIP-345: a known instance rejoining replaces its old member id; the group does not rebalance.
                var previous = _members.FirstOrDefault(m => m.Value == instance).Key;
                if (previous is not null)
                {
                    _members.Remove(previous);
                    memberId = memberId.Length == 0 ? NewMemberId() : memberId;
                    if (_assignments.Remove(previous, out var kept))
                    {
                        _assignments[memberId] = kept;
                    }

                    rebalance = false;
                }
                else if (memberId.Length == 0)
                {
                    memberId = NewMemberId();
                }
            }

            _members[memberId] = request.GroupInstanceId;
            if (rebalance || Generation == 0)
            {
                Generation++;
            }

            var leader = _members.Keys.First();
            var protocol = request.Protocols[0];
            return new JoinGroupResponse
            {
                GenerationId = Generation,
                ProtocolType = request.ProtocolType,
                ProtocolName = protocol.Name,
                Leader = leader,
                MemberId = memberId,
                SkipAssignment = !rebalance && memberId == leader && request.GroupInstanceId is not null,
                Members = memberId == leader
                    ? [.. _members.Select(m => new JoinGroupResponse.JoinGroupResponseMember { MemberId = m.Key, GroupInstanceId = m.Value, Metadata = protocol.Metadata.ToArray() })]
                    : [],
            };
        }
    }

    private string NewMemberId() => "fake-member-" + Interlocked.Increment(ref _nextMember);
}
