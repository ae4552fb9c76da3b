using Messaging.Pools;

namespace Messaging;

/// <summary>
/// The consumer's settings, named after Kafka's documented consumer configuration (each property's doc names the
/// Kafka setting), with durations as <see cref="TimeSpan"/>s and Kafka's defaults. Plain settable properties, so
/// <c>configuration.GetSection("Consumer").Bind(options)</c> fills them from <c>IConfiguration</c>. Validated once when
/// the consumer is built; changing the object afterwards has no effect on a running consumer.
/// </summary>
public sealed class KafkaConsumerOptions : KafkaClientOptions
{
    /// <summary><c>fetch.min.bytes</c>: the least data the broker gathers before answering a Fetch (or <see cref="FetchMaxWait"/> passes). Default 1.</summary>
    public int FetchMinBytes { get; set; } = 1;

    /// <summary><c>fetch.max.wait.ms</c>: how long the broker may hold a Fetch waiting for <see cref="FetchMinBytes"/>. Default 500 ms.</summary>
    public TimeSpan FetchMaxWait { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// <c>fetch.max.bytes</c>: the most data one Fetch response should carry (soft: a first batch larger than this is
    /// still returned, so the consumer always makes progress). Default 52,428,800 (50 MiB).
    /// </summary>
    public int FetchMaxBytes { get; set; } = 50 * 1024 * 1024;

    /// <summary><c>max.partition.fetch.bytes</c>: the most data per partition in one Fetch response (soft, as <see cref="FetchMaxBytes"/>). Default 1,048,576 (1 MiB).</summary>
    public int MaxPartitionFetchBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// <c>isolation.level</c>: <see cref="IsolationLevel.ReadUncommitted"/> shows every record;
    /// <see cref="IsolationLevel.ReadCommitted"/> reads up to the last stable offset and hides records of aborted
    /// transactions. Control records (transaction markers) are never shown. Default read_uncommitted.
    /// </summary>
    public IsolationLevel IsolationLevel { get; set; } = IsolationLevel.ReadUncommitted;

    /// <summary>
    /// <c>check.crcs</c>: verify every batch's CRC-32C. A mismatch raises a <see cref="ConsumeException"/> naming the
    /// partition and offset, and the position does not move past the batch. Default true.
    /// </summary>
    public bool CheckCrcs { get; set; } = true;

    /// <summary>
    /// <c>auto.offset.reset</c>: what to do when the position is out of the log's range. Default <see cref="AutoOffsetReset.Latest"/>.
    /// Also what to do when the leader reports that the log was truncated past records already consumed (an unclean
    /// leader election, detected with the leader epochs of fetched batches, KIP-320): with <see cref="AutoOffsetReset.Latest"/>
    /// or <see cref="AutoOffsetReset.Earliest"/> the position moves back to where the log diverges (logged as a
    /// warning) and those offsets are read again from the new leader; with <see cref="AutoOffsetReset.Error"/> the
    /// partition is held with a <see cref="ConsumeException"/> of kind <see cref="ConsumeErrorKind.LogTruncation"/>.
    /// </summary>
    public AutoOffsetReset AutoOffsetReset { get; set; } = AutoOffsetReset.Latest;

    /// <summary>
    /// The most fetched bytes buffered ahead of the application (librdkafka's <c>queued.max.messages.kbytes</c>): one
    /// Fetch per broker is in flight while the application reads earlier responses, and fetching pauses while this
    /// much is waiting. A response can overshoot it by up to <see cref="FetchMaxBytes"/>. Default 64 MiB.
    /// </summary>
    public long MaxBufferedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary><c>max.poll.records</c>: the most records in one batch from <c>ConsumeBatchAsync</c>. Default 500.</summary>
    public int MaxPollRecords { get; set; } = 500;

    /// <summary>
    /// <c>retry.backoff.ms</c>: the wait before fetching again from a broker or partition that failed, and the first wait
    /// before retrying a request to the group coordinator (doubling up to 1 s, <c>retry.backoff.max.ms</c>'s default, or
    /// to this backoff if longer). Default 100 ms.
    /// </summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// <c>client.rack</c>: the consumer's rack, sent with every Fetch (KIP-392). A leader with a rack-aware replica
    /// selector may then name a follower to read from; the partition is fetched from it until
    /// <see cref="KafkaClientOptions.MetadataMaxAge"/> passes or it fails, then from the leader again. Default empty.
    /// </summary>
    public string ClientRack { get; set; } = "";

    /// <summary>The most bytes one compressed batch may decompress to; more is reported as corrupt (a decompression bomb). Default 128 MiB.</summary>
    public int MaxDecompressedBatchBytes { get; set; } = 128 * 1024 * 1024;

    /// <summary>
    /// Whether to use incremental fetch sessions (KIP-227) where the broker supports them: after a full Fetch, only
    /// partitions whose fetch position changed are sent. Default true.
    /// </summary>
    public bool FetchSessions { get; set; } = true;

    /// <summary>
    /// The pools the consumer takes its memory from. Default <see cref="ConsumerPools.Shared"/>, the process-wide
    /// pools; <see cref="ConsumerPools.None"/> turns pooling off, <see cref="ConsumerPools.Create"/> builds pools of
    /// the consumer's own from settings, and the <see cref="ConsumerPools"/> constructor plugs in custom ones.
    /// </summary>
    public ConsumerPools Pools { get; set; } = ConsumerPools.Shared;

    /// <summary>
    /// <c>group.id</c>: the consumer group this consumer joins when it subscribes, and under which it commits offsets.
    /// Required for <c>Subscribe</c> and commits; a consumer that only assigns partitions needs none. Default null.
    /// </summary>
    public string? GroupId { get; set; }

    /// <summary><c>group.protocol</c>: the classic protocol or KIP-848's consumer protocol (Kafka 4.0+). Default <see cref="Messaging.GroupProtocol.Classic"/>.</summary>
    public GroupProtocol GroupProtocol { get; set; } = GroupProtocol.Classic;

    /// <summary>
    /// <c>group.instance.id</c>: makes the member static (KIP-345). A static member does not leave the group when it is
    /// disposed: restarted with the same id within <see cref="SessionTimeout"/>, it gets its partitions back without a
    /// rebalance of the others. Unique within the group. Default null (a dynamic member).
    /// </summary>
    public string? GroupInstanceId { get; set; }

    /// <summary><c>session.timeout.ms</c>: how long the coordinator keeps a member that sends no heartbeat (classic protocol; KIP-848 uses the broker's setting). Default 45 s.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary><c>heartbeat.interval.ms</c>: how often a classic member heartbeats; below a third of <see cref="SessionTimeout"/> is usual. KIP-848 members use the broker's interval. Default 3 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// <c>max.poll.interval.ms</c>: the longest the application may go without asking for records. Past it the member
    /// leaves the group (logged once, with the reason; its partitions are lost to it) and rejoins when the application
    /// reads again. Default 5 min.
    /// </summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long the classic coordinator waits for every member to rejoin during a rebalance (the JoinGroup rebalance
    /// timeout; the Java client uses <c>max.poll.interval.ms</c>). Default null: <see cref="MaxPollInterval"/>.
    /// </summary>
    public TimeSpan? RebalanceTimeout { get; set; }

    /// <summary>
    /// <c>partition.assignment.strategy</c>: the classic protocol's assignors by name, most preferred first, comma
    /// separated: <c>range</c>, <c>roundrobin</c>, <c>cooperative-sticky</c>, or the name of an assignor in
    /// <see cref="CustomPartitionAssignors"/>. The group uses the first one every member supports. The rebalance is
    /// cooperative only when every listed assignor supports it: the default, as the Java client's since 3.0, starts
    /// eager and lets a rolling restart drop <c>range</c> to move to cooperative. Default <c>range,cooperative-sticky</c>.
    /// </summary>
    public string PartitionAssignmentStrategy { get; set; } = "range,cooperative-sticky";

    /// <summary>
    /// Factories of custom classic assignors (one assignor instance per consumer: assignors may keep state between
    /// rebalances). Listing one's <see cref="Messaging.Groups.IConsumerPartitionAssignor.Name"/> in
    /// <see cref="PartitionAssignmentStrategy"/> puts it to use. Default empty.
    /// </summary>
    public IList<Func<Messaging.Groups.IConsumerPartitionAssignor>> CustomPartitionAssignors { get; } = [];

    /// <summary>
    /// <c>group.remote.assignor</c>: the broker-side assignor of the KIP-848 protocol (<c>uniform</c> or
    /// <c>range</c>). Default null: the broker's default.
    /// </summary>
    public string? GroupRemoteAssignor { get; set; }

    /// <summary>
    /// <c>enable.auto.commit</c>: commit the stored offsets in the background every <see cref="AutoCommitInterval"/>,
    /// when partitions are revoked, and when the consumer is disposed. Default true.
    /// </summary>
    public bool EnableAutoCommit { get; set; } = true;

    /// <summary>
    /// <c>default.api.timeout.ms</c>: how long a call to the group's coordinator may take, retries through coordinator
    /// moves included, when the call has no time limit of its own: <c>CommitAsync</c>, <c>CommittedAsync</c>, the
    /// commit made on revocation and on <c>DisposeAsync</c>, and the committed offsets read for newly assigned
    /// partitions. A commit past it fails with a retriable <see cref="KafkaCommitException"/> (whether the coordinator
    /// stored it is unknown); a read, with a retriable <see cref="KafkaErrorException"/>. <see cref="TimeSpan.MaxValue"/>
    /// means no limit (only the cancellation token ends the call). Default 60 s.
    /// </summary>
    public TimeSpan DefaultApiTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary><c>auto.commit.interval.ms</c>: how often offsets are committed with <see cref="EnableAutoCommit"/>. Default 5 s.</summary>
    public TimeSpan AutoCommitInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>enable.auto.offset.store</c> (librdkafka's semantics): true stores each record's offset as it is handed to the
    /// application, so commits cover everything consumed; false stores only what the application passes to
    /// <c>StoreOffset</c> — set it false and store after processing for at-least-once processing with automatic
    /// commits. Default true.
    /// </summary>
    public bool EnableAutoOffsetStore { get; set; } = true;

    /// <summary>
    /// A copy of these settings: later changes to either object do not reach the other. Shallow: the objects the
    /// settings hold (<see cref="KafkaClientOptions.Ssl"/>, <see cref="KafkaClientOptions.Sasl"/>, the pools, the
    /// logger factory) are shared. The consumer keeps such a copy of the options it is built with.
    /// </summary>
    public KafkaConsumerOptions Clone() => (KafkaConsumerOptions)MemberwiseClone();

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (FetchMinBytes < 0)
        {
            throw new ArgumentException("FetchMinBytes (fetch.min.bytes) must not be negative.", nameof(FetchMinBytes));
        }

        if (FetchMaxWait < TimeSpan.Zero || FetchMaxWait > TimeSpan.FromMilliseconds(int.MaxValue))
        {
            throw new ArgumentException("FetchMaxWait (fetch.max.wait.ms) must be between 0 and int.MaxValue ms.", nameof(FetchMaxWait));
        }

        if (FetchMaxBytes < 1)
        {
            throw new ArgumentException("FetchMaxBytes (fetch.max.bytes) must be positive.", nameof(FetchMaxBytes));
        }

        if (MaxPartitionFetchBytes < 1)
        {
            throw new ArgumentException("MaxPartitionFetchBytes (max.partition.fetch.bytes) must be positive.", nameof(MaxPartitionFetchBytes));
        }

        if (!Enum.IsDefined(IsolationLevel))
        {
            throw new ArgumentException("IsolationLevel (isolation.level) must be ReadUncommitted or ReadCommitted.", nameof(IsolationLevel));
        }

        if (!Enum.IsDefined(AutoOffsetReset))
        {
            throw new ArgumentException("AutoOffsetReset (auto.offset.reset) must be Latest, Earliest or Error.", nameof(AutoOffsetReset));
        }

        if (MaxBufferedBytes < 1)
        {
            throw new ArgumentException("MaxBufferedBytes must be positive.", nameof(MaxBufferedBytes));
        }

        if (MaxPollRecords < 1 || MaxPollRecords > 1 << 20)
        {
            throw new ArgumentException("MaxPollRecords (max.poll.records) must be between 1 and 1,048,576.", nameof(MaxPollRecords));
        }

        if (RetryBackoff <= TimeSpan.Zero)
        {
            throw new ArgumentException("RetryBackoff (retry.backoff.ms) must be positive.", nameof(RetryBackoff));
        }

        if (DefaultApiTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("DefaultApiTimeout (default.api.timeout.ms) must be positive.", nameof(DefaultApiTimeout));
        }

        if (MaxDecompressedBatchBytes < 1)
        {
            throw new ArgumentException("MaxDecompressedBatchBytes must be positive.", nameof(MaxDecompressedBatchBytes));
        }

        ValidateGroup();
        ArgumentNullException.ThrowIfNull(ClientRack, nameof(ClientRack));
        ArgumentNullException.ThrowIfNull(Pools, nameof(Pools));
    }

    private void ValidateGroup()
    {
        if (GroupId is { Length: 0 })
        {
            throw new ArgumentException("GroupId (group.id) must not be empty: null means no group.", nameof(GroupId));
        }

        if (GroupInstanceId is { Length: 0 })
        {
            throw new ArgumentException("GroupInstanceId (group.instance.id) must not be empty: null means a dynamic member.", nameof(GroupInstanceId));
        }

        if (!Enum.IsDefined(GroupProtocol))
        {
            throw new ArgumentException("GroupProtocol (group.protocol) must be Classic or Consumer.", nameof(GroupProtocol));
        }

        if (SessionTimeout <= TimeSpan.Zero || SessionTimeout > TimeSpan.FromMilliseconds(int.MaxValue))
        {
            throw new ArgumentException("SessionTimeout (session.timeout.ms) must be between 1 ms and int.MaxValue ms.", nameof(SessionTimeout));
        }

        if (HeartbeatInterval <= TimeSpan.Zero || HeartbeatInterval >= SessionTimeout)
        {
            throw new ArgumentException("HeartbeatInterval (heartbeat.interval.ms) must be positive and lower than SessionTimeout (session.timeout.ms).", nameof(HeartbeatInterval));
        }

        if (MaxPollInterval <= TimeSpan.Zero || MaxPollInterval > TimeSpan.FromMilliseconds(int.MaxValue))
        {
            throw new ArgumentException("MaxPollInterval (max.poll.interval.ms) must be between 1 ms and int.MaxValue ms.", nameof(MaxPollInterval));
        }

        if (RebalanceTimeout is { } rebalance && (rebalance <= TimeSpan.Zero || rebalance > TimeSpan.FromMilliseconds(int.MaxValue)))
        {
            throw new ArgumentException("RebalanceTimeout must be between 1 ms and int.MaxValue ms (or null for MaxPollInterval).", nameof(RebalanceTimeout));
        }

        if (AutoCommitInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("AutoCommitInterval (auto.commit.interval.ms) must be positive.", nameof(AutoCommitInterval));
        }

        if (GroupRemoteAssignor is { Length: 0 })
        {
            throw new ArgumentException("GroupRemoteAssignor (group.remote.assignor) must not be empty: null means the broker's default.", nameof(GroupRemoteAssignor));
        }

        ArgumentNullException.ThrowIfNull(PartitionAssignmentStrategy, nameof(PartitionAssignmentStrategy));
        _ = Messaging.Consumer.PartitionAssignors.Resolve(PartitionAssignmentStrategy, CustomPartitionAssignors);
    }
}
