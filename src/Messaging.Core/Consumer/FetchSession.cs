using Messaging.Protocol.Messages;

namespace Messaging.Consumer;

/// <summary>
/// The client side of an incremental fetch session with one broker (KIP-227). The first Fetch is full and asks for a
/// session (id 0, epoch 0); if the broker answers with a session id, later Fetches carry only the partitions whose fetch
/// position (offset, leader epoch, last fetched epoch, max bytes) changed or that are new, list the ones dropped as forgotten, and count
/// the epoch up; a partition whose topic id changed (the topic was made anew) is sent with the new id and forgotten
/// under the old one. A broker that does not create sessions (answers id 0) gets full Fetches, each asking again.
/// Errors (INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR, ...) and any failed request start over with a
/// full Fetch that closes the broker's session (its id, epoch 0) and asks for a new one; after FETCH_SESSION_ID_NOT_FOUND
/// there is none to close (id 0).
/// </summary>
/// <remarks>Used by one broker fetcher loop only: not thread-safe.</remarks>
internal sealed class FetchSession
{
    /// <summary>The session epoch that closes a session (KIP-227's FINAL_EPOCH).</summary>
    private const int FinalEpoch = -1;

    private readonly bool _enabled;
    private readonly Dictionary<TopicPartition, Entry> _partitions = [];
    private readonly HashSet<TopicPartition> _seen = [];
    private readonly List<(TopicPartition Key, Guid TopicId)> _forgotten = [];
    private readonly List<FetchTarget> _included = [];
    private readonly List<TopicPartition> _lastIncluded = [];
    private FetchRequest.FetchTopic[] _lastTopics = [];
    private bool _lastWasFull;

    public FetchSession(bool enabled)
    {
        _enabled = enabled;
    }

    /// <summary>The session id the broker gave, or 0.</summary>
    public int SessionId { get; private set; }

    /// <summary>The epoch of the next request: 0 asks for a new session (full request), 1+ continues it.</summary>
    public int Epoch { get; private set; }

    /// <summary>True when the next request will be incremental.</summary>
    public bool IsIncremental => _enabled && SessionId != 0 && Epoch > 0;

    /// <summary>The partitions the broker's session holds, as last sent (for tests).</summary>
    public int SessionPartitionCount => _partitions.Count;

    /// <summary>Fills the session fields, partitions and forgotten partitions of <paramref name="request"/> for <paramref name="targets"/>.</summary>
    /// <param name="request">The request (the other fields already set).</param>
    /// <param name="targets">Every partition this broker should be fetching now.</param>
    /// <param name="partitionMaxBytes">max.partition.fetch.bytes.</param>
    /// <param name="topicIds">The request names topics by id (Fetch v13+), as the broker's session then keys its partitions.</param>
    public void Build(FetchRequest request, List<FetchTarget> targets, int partitionMaxBytes, bool topicIds = true)
    {
        bool incremental = IsIncremental;
        _lastWasFull = !incremental;
        request.SessionId = _enabled ? SessionId : 0;
        request.SessionEpoch = !_enabled ? -1 : incremental ? Epoch : 0;
        if (!incremental)
        {
            _partitions.Clear();
        }

        _seen.Clear();
        _included.Clear();
        _forgotten.Clear();
        foreach (var target in Sorted(targets))
        {
            var key = target.Cursor.TopicPartition;
            _seen.Add(key);
            var entry = new Entry(target.FetchOffset, target.LeaderEpoch, target.LastFetchedEpoch, partitionMaxBytes, target.TopicId);
            if (incremental && _partitions.TryGetValue(key, out var sent))
            {
                if (sent == entry)
                {
                    continue; // the broker's session already fetches it from here
                }

                if (topicIds && sent.TopicId != entry.TopicId && sent.TopicId != Guid.Empty && entry.TopicId != Guid.Empty)
                {
                    // The topic was made anew (KIP-516, as the Java client): the broker's session keys partitions by
                    // topic id, so the old one is forgotten while the new one is added, or it stays and fails every Fetch.
                    _forgotten.Add((key, sent.TopicId));
                }
            }

            _partitions[key] = entry;
            _included.Add(target);
        }

        request.Topics = Topics(partitionMaxBytes);

        if (incremental)
        {
            foreach (var (key, sent) in _partitions)
            {
                if (!_seen.Contains(key))
                {
                    _forgotten.Add((key, sent.TopicId));
                }
            }
        }

        request.ForgottenTopicsData = Forgotten();
        foreach (var (key, _) in _forgotten)
        {
            if (!_seen.Contains(key))
            {
                _partitions.Remove(key);
            }
        }
    }

    /// <summary>Takes in the broker's answer. Returns false when the session failed and the request should be retried as a full one.</summary>
    public bool OnResponse(FetchResponse response)
    {
        if (response.ErrorCode != ErrorCode.None)
        {
            // The broker did not take the request as sent: start over with a full Fetch, which closes the session unless
            // the broker no longer knows it.
            Reset();
            if (response.ErrorCode == ErrorCode.FetchSessionIdNotFound)
            {
                SessionId = 0;
            }

            return response.ErrorCode is not (ErrorCode.InvalidFetchSessionEpoch or ErrorCode.FetchSessionTopicIdError or ErrorCode.FetchSessionIdNotFound);
        }

        if (!_enabled)
        {
            return true;
        }

        if (_lastWasFull)
        {
            SessionId = response.SessionId;
            Epoch = SessionId != 0 ? 1 : 0;
            if (SessionId == 0)
            {
                _partitions.Clear();
            }
        }
        else
        {
            Epoch = Epoch == int.MaxValue ? 1 : Epoch + 1;
        }

        return true;
    }

    /// <summary>
    /// Turns <paramref name="request"/> into the one that closes the broker's session — its id with the final epoch
    /// (-1) and no partitions, as the Java client sends when it closes — and forgets the session. False when there is
    /// no session to close.
    /// </summary>
    public bool TryBuildClose(FetchRequest request)
    {
        if (!_enabled || SessionId == 0)
        {
            return false;
        }

        request.SessionId = SessionId;
        request.SessionEpoch = FinalEpoch;
        request.Topics = [];
        request.ForgottenTopicsData = [];
        SessionId = 0;
        Reset();
        return true;
    }

    /// <summary>
    /// Starts over after a failed request or an error: the next Fetch is full. It carries the session id with epoch 0,
    /// which closes the broker's session and asks for a new one (the Java client's "close existing, attempt new"), so
    /// the old session does not hold a slot in the broker's session cache until it is evicted.
    /// </summary>
    public void Reset()
    {
        Epoch = 0;
        _partitions.Clear();
    }

    private static List<FetchTarget> Sorted(List<FetchTarget> targets)
    {
        // Group partitions of one topic together (the request lists each topic once).
        targets.Sort(static (a, b) =>
        {
            int byTopic = string.CompareOrdinal(a.Cursor.Topic, b.Cursor.Topic);
            return byTopic != 0 ? byTopic : a.Cursor.Partition.CompareTo(b.Cursor.Partition);
        });
        return targets;
    }

    private static void Flush(List<FetchRequest.FetchTopic> topics, List<FetchRequest.FetchPartition> partitions, string? topic, Guid topicId)
    {
        if (topic is not null && partitions.Count > 0)
        {
            topics.Add(new FetchRequest.FetchTopic { Topic = topic, TopicId = topicId, Partitions = [.. partitions] });
        }

        partitions.Clear();
    }

    /// <summary>
    /// The request's topics for the included partitions. When they are the same partitions as last time (the steady
    /// state), the previous objects are updated in place, so a Fetch allocates nothing for its partition list.
    /// </summary>
    private FetchRequest.FetchTopic[] Topics(int partitionMaxBytes)
    {
        if (SameAsLast())
        {
            int i = 0;
            foreach (var topic in _lastTopics)
            {
                topic.TopicId = _included[i].TopicId;
                foreach (var partition in topic.Partitions)
                {
                    var target = _included[i++];
                    partition.CurrentLeaderEpoch = target.LeaderEpoch;
                    partition.FetchOffset = target.FetchOffset;
                    partition.LastFetchedEpoch = target.LastFetchedEpoch;
                    partition.PartitionMaxBytes = partitionMaxBytes;
                }
            }

            return _lastTopics;
        }

        var topics = new List<FetchRequest.FetchTopic>();
        var partitions = new List<FetchRequest.FetchPartition>();
        string? currentTopic = null;
        Guid currentId = default;
        _lastIncluded.Clear();
        foreach (var target in _included)
        {
            var key = target.Cursor.TopicPartition;
            _lastIncluded.Add(key);
            if (!string.Equals(currentTopic, key.Topic, StringComparison.Ordinal))
            {
                Flush(topics, partitions, currentTopic, currentId);
                currentTopic = key.Topic;
                currentId = target.TopicId;
            }

            partitions.Add(new FetchRequest.FetchPartition
            {
                Partition = key.Partition,
                CurrentLeaderEpoch = target.LeaderEpoch,
                FetchOffset = target.FetchOffset,
                LastFetchedEpoch = target.LastFetchedEpoch,
                PartitionMaxBytes = partitionMaxBytes,
            });
        }

        Flush(topics, partitions, currentTopic, currentId);
        _lastTopics = [.. topics];
        return _lastTopics;
    }

    private bool SameAsLast()
    {
        if (_included.Count != _lastIncluded.Count)
        {
            return false;
        }

        for (int i = 0; i < _included.Count; i++)
        {
            if (_included[i].Cursor.TopicPartition != _lastIncluded[i])
            {
                return false;
            }
        }

        return true;
    }

    private FetchRequest.ForgottenTopic[] Forgotten()
    {
        if (_forgotten.Count == 0)
        {
            return [];
        }

        var byTopic = new Dictionary<(string Topic, Guid Id), List<int>>();
        foreach (var (key, topicId) in _forgotten)
        {
            if (!byTopic.TryGetValue((key.Topic, topicId), out var partitions))
            {
                partitions = [];
                byTopic[(key.Topic, topicId)] = partitions;
            }

            partitions.Add(key.Partition);
        }

        var result = new FetchRequest.ForgottenTopic[byTopic.Count];
        int i = 0;
        foreach (var ((topic, topicId), partitions) in byTopic)
        {
            result[i++] = new FetchRequest.ForgottenTopic { Topic = topic, TopicId = topicId, Partitions = [.. partitions] };
        }

        return result;
    }

    private readonly record struct Entry(long FetchOffset, int LeaderEpoch, int LastFetchedEpoch, int MaxBytes, Guid TopicId);
}
