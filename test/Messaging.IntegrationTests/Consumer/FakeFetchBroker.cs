using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// A one-broker Kafka on loopback that serves what the embedded broker cannot: Fetch with real incremental fetch
/// sessions (KIP-227), the aborted-transaction list and last stable offset for read_committed, and ListOffsets by
/// timestamp. Its log is whatever batches a test appends (hand-built, or captured from another broker), with the leader
/// epochs they carry; a test can truncate it (an unclean leader election), and a Fetch whose LastFetchedEpoch no
/// longer matches the log is answered with a DivergingEpoch (KIP-320), as a broker does. Requests are recorded for
/// assertions; errors can be injected into the next Fetch. It is its own group coordinator: it stores commits, answers
/// OffsetFetch from them, and runs a one-member KIP-848 group that gets every partition of its subscribed topics.
/// </summary>
internal sealed class FakeFetchBroker : FakeKafkaBroker
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Topic, int Partition), PartitionLog> _logs = [];
    private readonly Dictionary<string, Guid> _topicIds = new(StringComparer.Ordinal);
    private readonly Dictionary<int, Dictionary<(string, int), (long Offset, int LastFetchedEpoch)>> _sessions = [];
    private readonly ConcurrentQueue<FetchRequest> _fetches = new();
    private readonly Dictionary<(string Topic, int Partition), (long Offset, int LeaderEpoch)> _committed = [];
    private int _nextSession = 100;
    private ErrorCode _nextFetchError;
    private int _fetchThrottleMs;
    private int _throttledFetchesLeft;

    private readonly Dictionary<int, FakeFetchBroker> _peers = [];
    private readonly Dictionary<(string Topic, int Partition), (int Leader, int Epoch)> _leaders = [];
    private readonly Dictionary<string, ErrorCode> _refused = new(StringComparer.Ordinal);

    private FakeFetchBroker(bool sessions, short maxFetchVersion, int nodeId)
    {
        SupportsSessions = sessions;
        MaxFetchVersion = maxFetchVersion;
        NodeId = nodeId;
        StartAccepting();
    }

    /// <summary>This broker's node id in the metadata it gives.</summary>
    public int NodeId { get; }


    public bool SupportsSessions { get; }

    public short MaxFetchVersion { get; }

    /// <summary>Every Fetch request received, in order.</summary>
    public IReadOnlyList<FetchRequest> Fetches => [.. _fetches];

    /// <summary>Every OffsetCommit received, in order (the broker is its own group coordinator).</summary>
    public ConcurrentQueue<OffsetCommitRequest> Commits { get; } = new();

    /// <summary>For each Fetch received, in order: when it arrived (Stopwatch timestamp) and the throttle its answer asked for.</summary>
    public ConcurrentQueue<(long Arrived, int ThrottleMs)> FetchTimes { get; } = new();

    public static FakeFetchBroker Start(bool sessions = true, short maxFetchVersion = 16, int nodeId = 1) => new(sessions, maxFetchVersion, nodeId);

    /// <summary>Lists <paramref name="other"/> among the brokers of this one's metadata (a cluster of fakes; each serves Fetch from its own log).</summary>
    public void AddPeer(FakeFetchBroker other)
    {
        lock (_lock)
        {
            _peers[other.NodeId] = other;
        }
    }

    /// <summary>This broker's metadata names <paramref name="leader"/> as the partition's leader from now on (broker 1, epoch 0 until set).</summary>
    public void SetLeader(string topic, int partition, int leader, int epoch)
    {
        lock (_lock)
        {
            _leaders[(topic, partition)] = (leader, epoch);
        }
    }

    /// <summary>Creates a topic with empty partitions; <paramref name="topicId"/> gives it another broker's id for it (one cluster), else a new one.</summary>
    public void CreateTopic(string topic, int partitions, Guid? topicId = null)
    {
        lock (_lock)
        {
            _topicIds[topic] = topicId ?? Guid.NewGuid();
            for (int p = 0; p < partitions; p++)
            {
                _logs[(topic, p)] = new PartitionLog();
            }
        }
    }

    /// <summary>Metadata answers <paramref name="topic"/> with <paramref name="error"/> and no partitions from now on (no rights to it), or normally again (<see cref="ErrorCode.None"/>).</summary>
    public void RefuseTopic(string topic, ErrorCode error)
    {
        lock (_lock)
        {
            if (error == ErrorCode.None)
            {
                _refused.Remove(topic);
            }
            else
            {
                _refused[topic] = error;
            }
        }
    }

    /// <summary>The topic's id.</summary>
    public Guid TopicId(string topic)
    {
        lock (_lock)
        {
            return _topicIds[topic];
        }
    }

        /// <summary>Appends a batch (magic 2): its base offset is rewritten to the log end, as a broker does. Returns the base offset.</summary>
    public long Append(string topic, int partition, byte[] batch)
    {
        lock (_lock)
        {
            var log = _logs[(topic, partition)];
            var copy = batch.ToArray();
            long baseOffset = log.End;
            BinaryPrimitives.WriteInt64BigEndian(copy, baseOffset);
            int lastDelta = BinaryPrimitives.ReadInt32BigEndian(copy.AsSpan(23));
            long maxTimestamp = BinaryPrimitives.ReadInt64BigEndian(copy.AsSpan(35));
            log.Batches.Add((baseOffset, baseOffset + lastDelta, maxTimestamp, copy));
            log.End = baseOffset + lastDelta + 1;
            log.StableEnd = log.OpenFrom ?? log.End;
            return baseOffset;
        }
    }

    /// <summary>Drops the batches at and after <paramref name="offset"/> (a batch boundary): a new leader without them.</summary>
    public void Truncate(string topic, int partition, long offset)
    {
        lock (_lock)
        {
            var log = _logs[(topic, partition)];
            log.Batches.RemoveAll(b => b.Base >= offset);
            log.End = offset;
            log.StableEnd = log.OpenFrom ?? log.End;
        }
    }

    /// <summary>Stores a group commit of <paramref name="offset"/> with no leader epoch (one made by a client that sends none, or for a topic since made anew).</summary>
    public void SetCommitted(string topic, int partition, long offset)
    {
        lock (_lock)
        {
            _committed[(topic, partition)] = (offset, -1);
        }
    }

    /// <summary>Declares an aborted transaction for read_committed Fetches (the broker's transaction index).</summary>
    public void AddAbortedTransaction(string topic, int partition, long producerId, long firstOffset)
    {
        lock (_lock)
        {
            _logs[(topic, partition)].Aborted.Add((producerId, firstOffset));
        }
    }

    /// <summary>Holds the last stable offset at <paramref name="offset"/> (an open transaction), or releases it (null).</summary>
    public void SetOpenTransactionFrom(string topic, int partition, long? offset)
    {
        lock (_lock)
        {
            var log = _logs[(topic, partition)];
            log.OpenFrom = offset;
            log.StableEnd = offset ?? log.End;
        }
    }

    /// <summary>Leaves a Fetch that closes a session (its id, epoch -1) unanswered: a broker that died as the consumer closes.</summary>
    public bool IgnoreSessionCloses { get; set; }

    /// <summary>The sessions the broker holds open.</summary>
    public int OpenSessions
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>The next Fetch fails with <paramref name="error"/> at the top level.</summary>
    public void FailNextFetch(ErrorCode error) => _nextFetchError = error;

    /// <summary>The next <paramref name="count"/> Fetch answers carry <c>throttle_time_ms</c> = <paramref name="throttleMs"/> (KIP-219: answered at once, then the client must hold off).</summary>
    public void ThrottleFetches(int throttleMs, int count)
    {
        _fetchThrottleMs = throttleMs;
        Volatile.Write(ref _throttledFetchesLeft, count);
    }

    protected override TimeSpan Answer(byte[] frame, ContiguousBufferWriter output)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        short version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        switch (apiKey)
        {
            case ApiKey.ApiVersions:
            {
                KafkaFrames.ReadRequest<ApiVersionsRequest>(frame, null, out var header);
                KafkaFrames.WriteResponse(output, new ApiVersionsResponse
                {
                    ApiKeys =
                    [
                        new() { ApiKey = ApiKey.ApiVersions, MinVersion = 0, MaxVersion = 4 },
                        new() { ApiKey = ApiKey.Metadata, MinVersion = 9, MaxVersion = 12 },
                        new() { ApiKey = ApiKey.Fetch, MinVersion = 12, MaxVersion = MaxFetchVersion },
                        new() { ApiKey = ApiKey.ListOffsets, MinVersion = 6, MaxVersion = 9 },
                        new() { ApiKey = ApiKey.FindCoordinator, MinVersion = 4, MaxVersion = 6 },
                        new() { ApiKey = ApiKey.OffsetCommit, MinVersion = 6, MaxVersion = 9 },
                        new() { ApiKey = ApiKey.OffsetFetch, MinVersion = 8, MaxVersion = 9 },
                        new() { ApiKey = ApiKey.ConsumerGroupHeartbeat, MinVersion = 0, MaxVersion = 1 },
                    ],
                }, version, header.CorrelationId);
                return TimeSpan.Zero;
            }

            case ApiKey.Metadata:
            {
                var request = KafkaFrames.ReadRequest<MetadataRequest>(frame, null, out var header);
                var topics = new List<MetadataResponse.MetadataResponseTopic>();
                lock (_lock)
                {
                    foreach (var (name, id) in _topicIds)
                    {
                        if (_refused.TryGetValue(name, out var refused))
                        {
                            topics.Add(new MetadataResponse.MetadataResponseTopic { Name = name, ErrorCode = refused, Partitions = [] });
                            continue;
                        }

                        var partitions = _logs.Keys.Where(k => k.Topic == name).OrderBy(k => k.Partition)
                            .Select(k => _leaders.TryGetValue(k, out var led) ? (k.Partition, led.Leader, led.Epoch) : (k.Partition, 1, 0))
                            .Select(p => new MetadataResponse.MetadataResponsePartition { PartitionIndex = p.Item1, LeaderId = p.Item2, LeaderEpoch = p.Item3, ReplicaNodes = [p.Item2], IsrNodes = [p.Item2] })
                            .ToArray();
                        topics.Add(new MetadataResponse.MetadataResponseTopic { Name = name, TopicId = id, Partitions = partitions });
                    }
                }

                _ = request;
                MetadataResponse.MetadataResponseBroker[] brokers;
                lock (_lock)
                {
                    brokers = [new() { NodeId = NodeId, Host = "127.0.0.1", Port = Port }, .. _peers.Values.Select(p => new MetadataResponse.MetadataResponseBroker { NodeId = p.NodeId, Host = "127.0.0.1", Port = p.Port })];
                }

                KafkaFrames.WriteResponse(output, new MetadataResponse
                {
                    Brokers = brokers,
                    ClusterId = "fake-fetch",
                    ControllerId = 1,
                    Topics = [.. topics],
                }, version, header.CorrelationId);
                return TimeSpan.Zero;
            }

            case ApiKey.ListOffsets:
            {
                var request = KafkaFrames.ReadRequest<ListOffsetsRequest>(frame, null, out var header);
                var response = new ListOffsetsResponse { Topics = new ListOffsetsResponse.ListOffsetsTopicResponse[request.Topics.Length] };
                lock (_lock)
                {
                    for (int t = 0; t < request.Topics.Length; t++)
                    {
                        var topic = request.Topics[t];
                        response.Topics[t] = new ListOffsetsResponse.ListOffsetsTopicResponse
                        {
                            Name = topic.Name,
                            Partitions = topic.Partitions.Select(p => ListOffset(topic.Name, p, request.IsolationLevel)).ToArray(),
                        };
                    }
                }

                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return TimeSpan.Zero;
            }

            case ApiKey.Fetch:
            {
                var arrived = Stopwatch.GetTimestamp();
                var request = KafkaFrames.ReadRequest<FetchRequest>(frame, null, out var header);
                _fetches.Enqueue(request);
                if (request.SessionEpoch == -1 && request.SessionId != 0 && IgnoreSessionCloses)
                {
                    return NeverAnswer;
                }

                var (response, hasData) = Fetch(request, version);
                response.ThrottleTimeMs = Interlocked.Decrement(ref _throttledFetchesLeft) >= 0 ? _fetchThrottleMs : 0;
                FetchTimes.Enqueue((arrived, response.ThrottleTimeMs));
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return hasData || response.ErrorCode != ErrorCode.None ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Min(request.MaxWaitMs, 50));
            }

            case ApiKey.FindCoordinator:
            {
                // The group coordinator too, for commits of manually assigned partitions (no JoinGroup).
                var request = KafkaFrames.ReadRequest<FindCoordinatorRequest>(frame, null, out var header);
                KafkaFrames.WriteResponse(output, new FindCoordinatorResponse
                {
                    Coordinators = [.. request.CoordinatorKeys.Select(key => new FindCoordinatorResponse.Coordinator { Key = key, NodeId = 1, Host = "127.0.0.1", Port = Port, ErrorMessage = null })],
                }, version, header.CorrelationId);
                return TimeSpan.Zero;
            }

            case ApiKey.OffsetCommit:
            {
                var request = KafkaFrames.ReadRequest<OffsetCommitRequest>(frame, null, out var header);
                Commits.Enqueue(request);
                lock (_lock)
                {
                    foreach (var t in request.Topics)
                    {
                        foreach (var p in t.Partitions)
                        {
                            _committed[(t.Name, p.PartitionIndex)] = (p.CommittedOffset, p.CommittedLeaderEpoch);
                        }
                    }
                }

                KafkaFrames.WriteResponse(output, new OffsetCommitResponse
                {
                    Topics = [.. request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
                    {
                        Name = t.Name,
                        Partitions = [.. t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex })],
                    })],
                }, version, header.CorrelationId);
                return TimeSpan.Zero;
            }

            case ApiKey.OffsetFetch:
            {
                var request = KafkaFrames.ReadRequest<OffsetFetchRequest>(frame, null, out var header);
                lock (_lock)
                {
                    KafkaFrames.WriteResponse(output, new OffsetFetchResponse
                    {
                        Groups = [.. request.Groups.Select(g => new OffsetFetchResponse.OffsetFetchResponseGroup
                        {
                            GroupId = g.GroupId,
                            Topics = [.. (g.Topics ?? []).Select(t => new OffsetFetchResponse.OffsetFetchResponseTopics
                            {
                                Name = t.Name,
                                Partitions = [.. t.PartitionIndexes.Select(p => _committed.TryGetValue((t.Name, p), out var c)
                                    ? new OffsetFetchResponse.OffsetFetchResponsePartitions { PartitionIndex = p, CommittedOffset = c.Offset, CommittedLeaderEpoch = c.LeaderEpoch }
                                    : new OffsetFetchResponse.OffsetFetchResponsePartitions { PartitionIndex = p, CommittedOffset = -1 })],
                            })],
                        })],
                    }, version, header.CorrelationId);
                }

                return TimeSpan.Zero;
            }

            case ApiKey.ConsumerGroupHeartbeat:
            {
                // One member (KIP-848): it joins at epoch 1 and gets every partition of the topics it subscribes to.
                var request = KafkaFrames.ReadRequest<ConsumerGroupHeartbeatRequest>(frame, null, out var header);
                var response = new ConsumerGroupHeartbeatResponse { MemberId = "member-1", MemberEpoch = request.MemberEpoch < 0 ? request.MemberEpoch : 1, HeartbeatIntervalMs = 100 };
                if (request.MemberEpoch == 0)
                {
                    lock (_lock)
                    {
                        response.Assignment = new ConsumerGroupHeartbeatResponse.AssignmentData
                        {
                            TopicPartitions = [.. (request.SubscribedTopicNames ?? []).Where(_topicIds.ContainsKey).Select(t => new ConsumerGroupHeartbeatResponse.TopicPartitions
                            {
                                TopicId = _topicIds[t],
                                Partitions = [.. _logs.Keys.Where(k => k.Topic == t).Select(k => k.Partition).Order()],
                            })],
                        };
                    }
                }

                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return TimeSpan.Zero;
            }

            default:
                throw new IOException("The fake fetch broker does not speak " + apiKey);
        }
    }

    private ListOffsetsResponse.ListOffsetsPartitionResponse ListOffset(string topic, ListOffsetsRequest.ListOffsetsPartition partition, sbyte isolation)
    {
        var log = _logs[(topic, partition.PartitionIndex)];
        long offset = partition.Timestamp switch
        {
            -2 => log.Start,
            -1 => isolation == 1 ? log.StableEnd : log.End,
            _ => log.Batches.FirstOrDefault(b => b.MaxTimestamp >= partition.Timestamp).Bytes is { } found ? FirstAtOrAfter(found, partition.Timestamp) : -1,
        };
        return new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = partition.PartitionIndex, Offset = offset, Timestamp = partition.Timestamp >= 0 && offset >= 0 ? partition.Timestamp : -1 };
    }

    private static long FirstAtOrAfter(byte[] batch, long timestamp)
    {
        var reader = new Messaging.Records.RecordBatchReader(batch);
        reader.TryReadNext(out var b);
        var records = b.GetRecords();
        while (records.TryRead(out var record))
        {
            if (record.Timestamp >= timestamp)
            {
                return record.Offset;
            }
        }

        return -1;
    }

    private (FetchResponse Response, bool HasData) Fetch(FetchRequest request, short version)
    {
        var error = _nextFetchError;
        _nextFetchError = ErrorCode.None;
        if (error != ErrorCode.None)
        {
            return (new FetchResponse { ErrorCode = error }, false);
        }

        lock (_lock)
        {
            // Sessions (KIP-227): epoch 0 starts one (full request), epoch > 0 continues it (incremental), -1 is sessionless
            // (and closes the session it names).
            if (request.SessionEpoch == -1 && request.SessionId != 0)
            {
                _sessions.Remove(request.SessionId);
            }

            Dictionary<(string, int), (long Offset, int LastFetchedEpoch)> wanted;
            int sessionId = 0;
            bool incremental = false;
            if (request.SessionEpoch > 0)
            {
                if (!_sessions.TryGetValue(request.SessionId, out wanted!))
                {
                    return (new FetchResponse { ErrorCode = ErrorCode.FetchSessionIdNotFound }, false);
                }

                sessionId = request.SessionId;
                incremental = true;
            }
            else
            {
                wanted = [];
                if (request.SessionEpoch == 0 && SupportsSessions)
                {
                    sessionId = _nextSession++;
                    _sessions[sessionId] = wanted;
                }
            }

            foreach (var topic in request.Topics)
            {
                string name = version >= 13 ? _topicIds.First(t => t.Value == topic.TopicId).Key : topic.Topic;
                foreach (var partition in topic.Partitions)
                {
                    wanted[(name, partition.Partition)] = (partition.FetchOffset, partition.LastFetchedEpoch);
                }
            }

            foreach (var forgotten in request.ForgottenTopicsData)
            {
                string name = version >= 13 ? _topicIds.First(t => t.Value == forgotten.TopicId).Key : forgotten.Topic;
                foreach (var p in forgotten.Partitions)
                {
                    wanted.Remove((name, p));
                }
            }

            var byTopic = new Dictionary<string, List<FetchResponse.PartitionData>>(StringComparer.Ordinal);
            bool hasData = false;
            long budget = request.MaxBytes;
            foreach (var ((topic, partition), (fetchOffset, lastFetchedEpoch)) in wanted.OrderBy(w => w.Key.Item1, StringComparer.Ordinal).ThenBy(w => w.Key.Item2).ToList())
            {
                var log = _logs[(topic, partition)];
                var data = new FetchResponse.PartitionData { PartitionIndex = partition, HighWatermark = log.End, LastStableOffset = log.StableEnd, LogStartOffset = log.Start };
                long limit = request.IsolationLevel == 1 ? log.StableEnd : log.End;
                var (epoch, epochEnd) = lastFetchedEpoch >= 0 ? log.EndOffsetFor(lastFetchedEpoch) : (-1, -1L);
                if (lastFetchedEpoch >= 0 && (epoch < lastFetchedEpoch || epochEnd < fetchOffset))
                {
                    data.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = epoch, EndOffset = epochEnd };
                }
                else if (fetchOffset < log.Start || fetchOffset > log.End)
                {
                    data.ErrorCode = ErrorCode.OffsetOutOfRange;
                }
                else if (fetchOffset < limit && budget > 0)
                {
                    var chosen = new List<byte[]>();
                    long last = -1;
                    foreach (var batch in log.Batches)
                    {
                        if (batch.Last < fetchOffset || batch.Base >= limit)
                        {
                            continue;
                        }

                        if (chosen.Count > 0 && chosen.Sum(c => c.Length) + batch.Bytes.Length > Math.Min(budget, MaxPartitionBytes(request, version)))
                        {
                            break;
                        }

                        chosen.Add(batch.Bytes);
                        last = batch.Last;
                    }

                    var bytes = chosen.SelectMany(c => c).ToArray();
                    budget -= bytes.Length;
                    data.Records = bytes;
                    hasData |= bytes.Length > 0;
                    if (request.IsolationLevel == 1)
                    {
                        data.AbortedTransactions = log.Aborted.Where(a => a.FirstOffset <= last)
                            .Select(a => new FetchResponse.AbortedTransaction { ProducerId = a.ProducerId, FirstOffset = a.FirstOffset }).ToArray();
                    }
                }
                else if (incremental)
                {
                    continue; // nothing new for this partition: an incremental response leaves it out
                }

                if (!byTopic.TryGetValue(topic, out var list))
                {
                    byTopic[topic] = list = [];
                }

                list.Add(data);
            }

            var response = new FetchResponse
            {
                SessionId = sessionId,
                Responses = byTopic.Select(t => new FetchResponse.FetchableTopicResponse { Topic = t.Key, TopicId = _topicIds[t.Key], Partitions = [.. t.Value] }).ToArray(),
            };
            return (response, hasData);
        }
    }

    private static long MaxPartitionBytes(FetchRequest request, short version) =>
        request.Topics.SelectMany(t => t.Partitions).Select(p => (long)p.PartitionMaxBytes).DefaultIfEmpty(1 << 20).Max();

    private sealed class PartitionLog
    {
        public List<(long Base, long Last, long MaxTimestamp, byte[] Bytes)> Batches { get; } = [];

        public List<(long ProducerId, long FirstOffset)> Aborted { get; } = [];

        public long Start { get; set; }

        public long End { get; set; }

        public long StableEnd { get; set; }

        public long? OpenFrom { get; set; }

        /// <summary>The largest leader epoch at most <paramref name="epoch"/> in the log and the offset it ends at (the next epoch's first offset, or the log end); (-1, -1) when there is none.</summary>
        public (int Epoch, long EndOffset) EndOffsetFor(int epoch)
        {
            int found = -1;
            long end = -1;
            foreach (var batch in Batches)
            {
                int batchEpoch = BinaryPrimitives.ReadInt32BigEndian(batch.Bytes.AsSpan(12));
                if (batchEpoch <= epoch)
                {
                    found = batchEpoch;
                    end = -1;
                }
                else if (found >= 0 && end < 0)
                {
                    end = batch.Base;
                }
            }

            return found < 0 ? (-1, -1) : (found, end < 0 ? End : end);
        }
    }
}
