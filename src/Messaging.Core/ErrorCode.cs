namespace Messaging;

/// <summary>
/// Kafka protocol error codes as they appear in responses, -1 through 133 (Kafka 4.1). Names, retriability and
/// descriptions are defined once, in <see cref="ErrorCodes"/>; a code the broker sends that is not listed here is
/// still representable (the enum is a plain <see cref="short"/>), and <see cref="ErrorCodes"/> treats it as unknown and not retriable.
/// </summary>
public enum ErrorCode : short
{
    /// <summary>The server experienced an unexpected error when processing the request. (UNKNOWN_SERVER_ERROR, code -1.)</summary>
    UnknownServerError = -1,

    /// <summary>No error. (NONE, code 0.)</summary>
    None = 0,

    /// <summary>The requested offset is not within the range of offsets maintained by the server. (OFFSET_OUT_OF_RANGE, code 1.)</summary>
    OffsetOutOfRange = 1,

    /// <summary>This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt. (CORRUPT_MESSAGE, code 2, retriable.)</summary>
    CorruptMessage = 2,

    /// <summary>This server does not host this topic-partition. (UNKNOWN_TOPIC_OR_PARTITION, code 3, retriable.)</summary>
    UnknownTopicOrPartition = 3,

    /// <summary>The requested fetch size is invalid. (INVALID_FETCH_SIZE, code 4.)</summary>
    InvalidFetchSize = 4,

    /// <summary>There is no leader for this topic-partition as we are in the middle of a leadership election. (LEADER_NOT_AVAILABLE, code 5, retriable.)</summary>
    LeaderNotAvailable = 5,

    /// <summary>For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition. (NOT_LEADER_OR_FOLLOWER, code 6, retriable.)</summary>
    NotLeaderOrFollower = 6,

    /// <summary>The request timed out. (REQUEST_TIMED_OUT, code 7, retriable.)</summary>
    RequestTimedOut = 7,

    /// <summary>The broker is not available. (BROKER_NOT_AVAILABLE, code 8.)</summary>
    BrokerNotAvailable = 8,

    /// <summary>The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition. (REPLICA_NOT_AVAILABLE, code 9, retriable.)</summary>
    ReplicaNotAvailable = 9,

    /// <summary>The request included a message larger than the max message size the server will accept. (MESSAGE_TOO_LARGE, code 10.)</summary>
    MessageTooLarge = 10,

    /// <summary>The controller moved to another broker. (STALE_CONTROLLER_EPOCH, code 11.)</summary>
    StaleControllerEpoch = 11,

    /// <summary>The metadata field of the offset request was too large. (OFFSET_METADATA_TOO_LARGE, code 12.)</summary>
    OffsetMetadataTooLarge = 12,

    /// <summary>The server disconnected before a response was received. (NETWORK_EXCEPTION, code 13, retriable.)</summary>
    NetworkException = 13,

    /// <summary>The coordinator is loading and hence can't process requests. (COORDINATOR_LOAD_IN_PROGRESS, code 14, retriable.)</summary>
    CoordinatorLoadInProgress = 14,

    /// <summary>The coordinator is not available. (COORDINATOR_NOT_AVAILABLE, code 15, retriable.)</summary>
    CoordinatorNotAvailable = 15,

    /// <summary>This is not the correct coordinator. (NOT_COORDINATOR, code 16, retriable.)</summary>
    NotCoordinator = 16,

    /// <summary>The request attempted to perform an operation on an invalid topic. (INVALID_TOPIC_EXCEPTION, code 17.)</summary>
    InvalidTopicException = 17,

    /// <summary>The request included message batch larger than the configured segment size on the server. (RECORD_LIST_TOO_LARGE, code 18.)</summary>
    RecordListTooLarge = 18,

    /// <summary>Messages are rejected since there are fewer in-sync replicas than required. (NOT_ENOUGH_REPLICAS, code 19, retriable.)</summary>
    NotEnoughReplicas = 19,

    /// <summary>Messages are written to the log, but to fewer in-sync replicas than required. (NOT_ENOUGH_REPLICAS_AFTER_APPEND, code 20, retriable.)</summary>
    NotEnoughReplicasAfterAppend = 20,

    /// <summary>Produce request specified an invalid value for required acks. (INVALID_REQUIRED_ACKS, code 21.)</summary>
    InvalidRequiredAcks = 21,

    /// <summary>Specified group generation id is not valid. (ILLEGAL_GENERATION, code 22.)</summary>
    IllegalGeneration = 22,

    /// <summary>The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list. (INCONSISTENT_GROUP_PROTOCOL, code 23.)</summary>
    InconsistentGroupProtocol = 23,

    /// <summary>The configured groupId is invalid. (INVALID_GROUP_ID, code 24.)</summary>
    InvalidGroupId = 24,

    /// <summary>The coordinator is not aware of this member. (UNKNOWN_MEMBER_ID, code 25.)</summary>
    UnknownMemberId = 25,

    /// <summary>The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms). (INVALID_SESSION_TIMEOUT, code 26.)</summary>
    InvalidSessionTimeout = 26,

    /// <summary>The group is rebalancing, so a rejoin is needed. (REBALANCE_IN_PROGRESS, code 27.)</summary>
    RebalanceInProgress = 27,

    /// <summary>The committing offset data size is not valid. (INVALID_COMMIT_OFFSET_SIZE, code 28.)</summary>
    InvalidCommitOffsetSize = 28,

    /// <summary>Topic authorization failed. (TOPIC_AUTHORIZATION_FAILED, code 29.)</summary>
    TopicAuthorizationFailed = 29,

    /// <summary>Group authorization failed. (GROUP_AUTHORIZATION_FAILED, code 30.)</summary>
    GroupAuthorizationFailed = 30,

    /// <summary>Cluster authorization failed. (CLUSTER_AUTHORIZATION_FAILED, code 31.)</summary>
    ClusterAuthorizationFailed = 31,

    /// <summary>The timestamp of the message is out of acceptable range. (INVALID_TIMESTAMP, code 32.)</summary>
    InvalidTimestamp = 32,

    /// <summary>The broker does not support the requested SASL mechanism. (UNSUPPORTED_SASL_MECHANISM, code 33.)</summary>
    UnsupportedSaslMechanism = 33,

    /// <summary>Request is not valid given the current SASL state. (ILLEGAL_SASL_STATE, code 34.)</summary>
    IllegalSaslState = 34,

    /// <summary>The version of API is not supported. (UNSUPPORTED_VERSION, code 35.)</summary>
    UnsupportedVersion = 35,

    /// <summary>Topic with this name already exists. (TOPIC_ALREADY_EXISTS, code 36.)</summary>
    TopicAlreadyExists = 36,

    /// <summary>Number of partitions is below 1. (INVALID_PARTITIONS, code 37.)</summary>
    InvalidPartitions = 37,

    /// <summary>Replication factor is below 1 or larger than the number of available brokers. (INVALID_REPLICATION_FACTOR, code 38.)</summary>
    InvalidReplicationFactor = 38,

    /// <summary>Replica assignment is invalid. (INVALID_REPLICA_ASSIGNMENT, code 39.)</summary>
    InvalidReplicaAssignment = 39,

    /// <summary>Configuration is invalid. (INVALID_CONFIG, code 40.)</summary>
    InvalidConfig = 40,

    /// <summary>This is not the correct controller for this cluster. (NOT_CONTROLLER, code 41, retriable.)</summary>
    NotController = 41,

    /// <summary>This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details. (INVALID_REQUEST, code 42.)</summary>
    InvalidRequest = 42,

    /// <summary>The message format version on the broker does not support the request. (UNSUPPORTED_FOR_MESSAGE_FORMAT, code 43.)</summary>
    UnsupportedForMessageFormat = 43,

    /// <summary>Request parameters do not satisfy the configured policy. (POLICY_VIOLATION, code 44.)</summary>
    PolicyViolation = 44,

    /// <summary>The broker received an out of order sequence number. (OUT_OF_ORDER_SEQUENCE_NUMBER, code 45.)</summary>
    OutOfOrderSequenceNumber = 45,

    /// <summary>The broker received a duplicate sequence number. (DUPLICATE_SEQUENCE_NUMBER, code 46.)</summary>
    DuplicateSequenceNumber = 46,

    /// <summary>Producer attempted to produce with an old epoch. (INVALID_PRODUCER_EPOCH, code 47.)</summary>
    InvalidProducerEpoch = 47,

    /// <summary>The producer attempted a transactional operation in an invalid state. (INVALID_TXN_STATE, code 48.)</summary>
    InvalidTxnState = 48,

    /// <summary>The producer attempted to use a producer id which is not currently assigned to its transactional id. (INVALID_PRODUCER_ID_MAPPING, code 49.)</summary>
    InvalidProducerIdMapping = 49,

    /// <summary>The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms). (INVALID_TRANSACTION_TIMEOUT, code 50.)</summary>
    InvalidTransactionTimeout = 50,

    /// <summary>The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing. (CONCURRENT_TRANSACTIONS, code 51, retriable.)</summary>
    ConcurrentTransactions = 51,

    /// <summary>Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer. (TRANSACTION_COORDINATOR_FENCED, code 52.)</summary>
    TransactionCoordinatorFenced = 52,

    /// <summary>Transactional Id authorization failed. (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, code 53.)</summary>
    TransactionalIdAuthorizationFailed = 53,

    /// <summary>Security features are disabled. (SECURITY_DISABLED, code 54.)</summary>
    SecurityDisabled = 54,

    /// <summary>The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest. (OPERATION_NOT_ATTEMPTED, code 55.)</summary>
    OperationNotAttempted = 55,

    /// <summary>Disk error when trying to access log file on the disk. (KAFKA_STORAGE_ERROR, code 56, retriable.)</summary>
    KafkaStorageError = 56,

    /// <summary>The user-specified log directory is not found in the broker config. (LOG_DIR_NOT_FOUND, code 57.)</summary>
    LogDirNotFound = 57,

    /// <summary>SASL Authentication failed. (SASL_AUTHENTICATION_FAILED, code 58.)</summary>
    SaslAuthenticationFailed = 58,

    /// <summary>This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception. (UNKNOWN_PRODUCER_ID, code 59.)</summary>
    UnknownProducerId = 59,

    /// <summary>A partition reassignment is in progress. (REASSIGNMENT_IN_PROGRESS, code 60.)</summary>
    ReassignmentInProgress = 60,

    /// <summary>Delegation Token feature is not enabled. (DELEGATION_TOKEN_AUTH_DISABLED, code 61.)</summary>
    DelegationTokenAuthDisabled = 61,

    /// <summary>Delegation Token is not found on server. (DELEGATION_TOKEN_NOT_FOUND, code 62.)</summary>
    DelegationTokenNotFound = 62,

    /// <summary>Specified Principal is not valid Owner/Renewer. (DELEGATION_TOKEN_OWNER_MISMATCH, code 63.)</summary>
    DelegationTokenOwnerMismatch = 63,

    /// <summary>Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels. (DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, code 64.)</summary>
    DelegationTokenRequestNotAllowed = 64,

    /// <summary>Delegation Token authorization failed. (DELEGATION_TOKEN_AUTHORIZATION_FAILED, code 65.)</summary>
    DelegationTokenAuthorizationFailed = 65,

    /// <summary>Delegation Token is expired. (DELEGATION_TOKEN_EXPIRED, code 66.)</summary>
    DelegationTokenExpired = 66,

    /// <summary>Supplied principalType is not supported. (INVALID_PRINCIPAL_TYPE, code 67.)</summary>
    InvalidPrincipalType = 67,

    /// <summary>The group is not empty. (NON_EMPTY_GROUP, code 68.)</summary>
    NonEmptyGroup = 68,

    /// <summary>The group id does not exist. (GROUP_ID_NOT_FOUND, code 69.)</summary>
    GroupIdNotFound = 69,

    /// <summary>The fetch session ID was not found. (FETCH_SESSION_ID_NOT_FOUND, code 70, retriable.)</summary>
    FetchSessionIdNotFound = 70,

    /// <summary>The fetch session epoch is invalid. (INVALID_FETCH_SESSION_EPOCH, code 71, retriable.)</summary>
    InvalidFetchSessionEpoch = 71,

    /// <summary>There is no listener on the leader broker that matches the listener on which metadata request was processed. (LISTENER_NOT_FOUND, code 72, retriable.)</summary>
    ListenerNotFound = 72,

    /// <summary>Topic deletion is disabled. (TOPIC_DELETION_DISABLED, code 73.)</summary>
    TopicDeletionDisabled = 73,

    /// <summary>The leader epoch in the request is older than the epoch on the broker. (FENCED_LEADER_EPOCH, code 74, retriable.)</summary>
    FencedLeaderEpoch = 74,

    /// <summary>The leader epoch in the request is newer than the epoch on the broker. (UNKNOWN_LEADER_EPOCH, code 75, retriable.)</summary>
    UnknownLeaderEpoch = 75,

    /// <summary>The requesting client does not support the compression type of given partition. (UNSUPPORTED_COMPRESSION_TYPE, code 76.)</summary>
    UnsupportedCompressionType = 76,

    /// <summary>Broker epoch has changed. (STALE_BROKER_EPOCH, code 77.)</summary>
    StaleBrokerEpoch = 77,

    /// <summary>The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing. (OFFSET_NOT_AVAILABLE, code 78, retriable.)</summary>
    OffsetNotAvailable = 78,

    /// <summary>The group member needs to have a valid member id before actually entering a consumer group. (MEMBER_ID_REQUIRED, code 79.)</summary>
    MemberIdRequired = 79,

    /// <summary>The preferred leader was not available. (PREFERRED_LEADER_NOT_AVAILABLE, code 80, retriable.)</summary>
    PreferredLeaderNotAvailable = 80,

    /// <summary>The consumer group has reached its max size. (GROUP_MAX_SIZE_REACHED, code 81.)</summary>
    GroupMaxSizeReached = 81,

    /// <summary>The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id. (FENCED_INSTANCE_ID, code 82.)</summary>
    FencedInstanceId = 82,

    /// <summary>Eligible topic partition leaders are not available. (ELIGIBLE_LEADERS_NOT_AVAILABLE, code 83, retriable.)</summary>
    EligibleLeadersNotAvailable = 83,

    /// <summary>Leader election not needed for topic partition. (ELECTION_NOT_NEEDED, code 84, retriable.)</summary>
    ElectionNotNeeded = 84,

    /// <summary>No partition reassignment is in progress. (NO_REASSIGNMENT_IN_PROGRESS, code 85.)</summary>
    NoReassignmentInProgress = 85,

    /// <summary>Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it. (GROUP_SUBSCRIBED_TO_TOPIC, code 86.)</summary>
    GroupSubscribedToTopic = 86,

    /// <summary>This record has failed the validation on broker and hence will be rejected. (INVALID_RECORD, code 87.)</summary>
    InvalidRecord = 87,

    /// <summary>There are unstable offsets that need to be cleared. (UNSTABLE_OFFSET_COMMIT, code 88, retriable.)</summary>
    UnstableOffsetCommit = 88,

    /// <summary>The throttling quota has been exceeded. (THROTTLING_QUOTA_EXCEEDED, code 89, retriable.)</summary>
    ThrottlingQuotaExceeded = 89,

    /// <summary>There is a newer producer with the same transactionalId which fences the current one. (PRODUCER_FENCED, code 90.)</summary>
    ProducerFenced = 90,

    /// <summary>A request illegally referred to a resource that does not exist. (RESOURCE_NOT_FOUND, code 91.)</summary>
    ResourceNotFound = 91,

    /// <summary>A request illegally referred to the same resource twice. (DUPLICATE_RESOURCE, code 92.)</summary>
    DuplicateResource = 92,

    /// <summary>Requested credential would not meet criteria for acceptability. (UNACCEPTABLE_CREDENTIAL, code 93.)</summary>
    UnacceptableCredential = 93,

    /// <summary>Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters. (INCONSISTENT_VOTER_SET, code 94.)</summary>
    InconsistentVoterSet = 94,

    /// <summary>The given update version was invalid. (INVALID_UPDATE_VERSION, code 95.)</summary>
    InvalidUpdateVersion = 95,

    /// <summary>Unable to update finalized features due to an unexpected server error. (FEATURE_UPDATE_FAILED, code 96.)</summary>
    FeatureUpdateFailed = 96,

    /// <summary>Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup. (PRINCIPAL_DESERIALIZATION_FAILURE, code 97.)</summary>
    PrincipalDeserializationFailure = 97,

    /// <summary>Requested snapshot was not found. (SNAPSHOT_NOT_FOUND, code 98.)</summary>
    SnapshotNotFound = 98,

    /// <summary>Requested position is not greater than or equal to zero, and less than the size of the snapshot. (POSITION_OUT_OF_RANGE, code 99.)</summary>
    PositionOutOfRange = 99,

    /// <summary>This server does not host this topic ID. (UNKNOWN_TOPIC_ID, code 100, retriable.)</summary>
    UnknownTopicId = 100,

    /// <summary>This broker ID is already in use. (DUPLICATE_BROKER_REGISTRATION, code 101.)</summary>
    DuplicateBrokerRegistration = 101,

    /// <summary>The given broker ID was not registered. (BROKER_ID_NOT_REGISTERED, code 102.)</summary>
    BrokerIdNotRegistered = 102,

    /// <summary>The log's topic ID did not match the topic ID in the request. (INCONSISTENT_TOPIC_ID, code 103, retriable.)</summary>
    InconsistentTopicId = 103,

    /// <summary>The clusterId in the request does not match that found on the server. (INCONSISTENT_CLUSTER_ID, code 104.)</summary>
    InconsistentClusterId = 104,

    /// <summary>The transactionalId could not be found. (TRANSACTIONAL_ID_NOT_FOUND, code 105.)</summary>
    TransactionalIdNotFound = 105,

    /// <summary>The fetch session encountered inconsistent topic ID usage. (FETCH_SESSION_TOPIC_ID_ERROR, code 106, retriable.)</summary>
    FetchSessionTopicIdError = 106,

    /// <summary>The new ISR contains at least one ineligible replica. (INELIGIBLE_REPLICA, code 107.)</summary>
    IneligibleReplica = 107,

    /// <summary>The AlterPartition request successfully updated the partition state but the leader has changed. (NEW_LEADER_ELECTED, code 108.)</summary>
    NewLeaderElected = 108,

    /// <summary>The requested offset is moved to tiered storage. (OFFSET_MOVED_TO_TIERED_STORAGE, code 109.)</summary>
    OffsetMovedToTieredStorage = 109,

    /// <summary>The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin. (FENCED_MEMBER_EPOCH, code 110.)</summary>
    FencedMemberEpoch = 110,

    /// <summary>The instance ID is still used by another member in the consumer group. That member must leave first. (UNRELEASED_INSTANCE_ID, code 111.)</summary>
    UnreleasedInstanceId = 111,

    /// <summary>The assignor or its version range is not supported by the consumer group. (UNSUPPORTED_ASSIGNOR, code 112.)</summary>
    UnsupportedAssignor = 112,

    /// <summary>The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API. (STALE_MEMBER_EPOCH, code 113.)</summary>
    StaleMemberEpoch = 113,

    /// <summary>The request was sent to an endpoint of the wrong type. (MISMATCHED_ENDPOINT_TYPE, code 114.)</summary>
    MismatchedEndpointType = 114,

    /// <summary>This endpoint type is not supported yet. (UNSUPPORTED_ENDPOINT_TYPE, code 115.)</summary>
    UnsupportedEndpointType = 115,

    /// <summary>This controller ID is not known. (UNKNOWN_CONTROLLER_ID, code 116.)</summary>
    UnknownControllerId = 116,

    /// <summary>Client sent a push telemetry request with an invalid or outdated subscription ID. (UNKNOWN_SUBSCRIPTION_ID, code 117.)</summary>
    UnknownSubscriptionId = 117,

    /// <summary>Client sent a push telemetry request larger than the maximum size the broker will accept. (TELEMETRY_TOO_LARGE, code 118.)</summary>
    TelemetryTooLarge = 118,

    /// <summary>The controller has considered the broker registration to be invalid. (INVALID_REGISTRATION, code 119.)</summary>
    InvalidRegistration = 119,

    /// <summary>The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID. (TRANSACTION_ABORTABLE, code 120.)</summary>
    TransactionAbortable = 120,

    /// <summary>The record state is invalid. The acknowledgement of delivery could not be completed. (INVALID_RECORD_STATE, code 121.)</summary>
    InvalidRecordState = 121,

    /// <summary>The share session was not found. (SHARE_SESSION_NOT_FOUND, code 122, retriable.)</summary>
    ShareSessionNotFound = 122,

    /// <summary>The share session epoch is invalid. (INVALID_SHARE_SESSION_EPOCH, code 123, retriable.)</summary>
    InvalidShareSessionEpoch = 123,

    /// <summary>The share coordinator rejected the request because the share-group state epoch did not match. (FENCED_STATE_EPOCH, code 124.)</summary>
    FencedStateEpoch = 124,

    /// <summary>The voter key doesn't match the receiving replica's key. (INVALID_VOTER_KEY, code 125.)</summary>
    InvalidVoterKey = 125,

    /// <summary>The voter is already part of the set of voters. (DUPLICATE_VOTER, code 126.)</summary>
    DuplicateVoter = 126,

    /// <summary>The voter is not part of the set of voters. (VOTER_NOT_FOUND, code 127.)</summary>
    VoterNotFound = 127,

    /// <summary>The regular expression is not valid. (INVALID_REGULAR_EXPRESSION, code 128.)</summary>
    InvalidRegularExpression = 128,

    /// <summary>Client metadata is stale. The client should rebootstrap to obtain new metadata. (REBOOTSTRAP_REQUIRED, code 129.)</summary>
    RebootstrapRequired = 129,

    /// <summary>The supplied topology is invalid. (STREAMS_INVALID_TOPOLOGY, code 130.)</summary>
    StreamsInvalidTopology = 130,

    /// <summary>The supplied topology epoch is invalid. (STREAMS_INVALID_TOPOLOGY_EPOCH, code 131.)</summary>
    StreamsInvalidTopologyEpoch = 131,

    /// <summary>The supplied topology epoch is outdated. (STREAMS_TOPOLOGY_FENCED, code 132.)</summary>
    StreamsTopologyFenced = 132,

    /// <summary>The limit of share sessions has been reached. (SHARE_SESSION_LIMIT_REACHED, code 133, retriable.)</summary>
    ShareSessionLimitReached = 133,
}
