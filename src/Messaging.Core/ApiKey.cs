namespace Messaging;

/// <summary>The Kafka API keys, as the request schemas number them (the first field of every request header).</summary>
public enum ApiKey : short
{
    /// <summary>The Produce API (key 0).</summary>
    Produce = 0,
    /// <summary>The Fetch API (key 1).</summary>
    Fetch = 1,
    /// <summary>The ListOffsets API (key 2).</summary>
    ListOffsets = 2,
    /// <summary>The Metadata API (key 3).</summary>
    Metadata = 3,
    /// <summary>The LeaderAndIsr API (key 4).</summary>
    LeaderAndIsr = 4,
    /// <summary>The StopReplica API (key 5).</summary>
    StopReplica = 5,
    /// <summary>The UpdateMetadata API (key 6).</summary>
    UpdateMetadata = 6,
    /// <summary>The ControlledShutdown API (key 7).</summary>
    ControlledShutdown = 7,
    /// <summary>The OffsetCommit API (key 8).</summary>
    OffsetCommit = 8,
    /// <summary>The OffsetFetch API (key 9).</summary>
    OffsetFetch = 9,
    /// <summary>The FindCoordinator API (key 10).</summary>
    FindCoordinator = 10,
    /// <summary>The JoinGroup API (key 11).</summary>
    JoinGroup = 11,
    /// <summary>The Heartbeat API (key 12).</summary>
    Heartbeat = 12,
    /// <summary>The LeaveGroup API (key 13).</summary>
    LeaveGroup = 13,
    /// <summary>The SyncGroup API (key 14).</summary>
    SyncGroup = 14,
    /// <summary>The DescribeGroups API (key 15).</summary>
    DescribeGroups = 15,
    /// <summary>The ListGroups API (key 16).</summary>
    ListGroups = 16,
    /// <summary>The SaslHandshake API (key 17).</summary>
    SaslHandshake = 17,
    /// <summary>The ApiVersions API (key 18).</summary>
    ApiVersions = 18,
    /// <summary>The CreateTopics API (key 19).</summary>
    CreateTopics = 19,
    /// <summary>The DeleteTopics API (key 20).</summary>
    DeleteTopics = 20,
    /// <summary>The DeleteRecords API (key 21).</summary>
    DeleteRecords = 21,
    /// <summary>The InitProducerId API (key 22).</summary>
    InitProducerId = 22,
    /// <summary>The OffsetForLeaderEpoch API (key 23).</summary>
    OffsetForLeaderEpoch = 23,
    /// <summary>The AddPartitionsToTxn API (key 24).</summary>
    AddPartitionsToTxn = 24,
    /// <summary>The AddOffsetsToTxn API (key 25).</summary>
    AddOffsetsToTxn = 25,
    /// <summary>The EndTxn API (key 26).</summary>
    EndTxn = 26,
    /// <summary>The WriteTxnMarkers API (key 27).</summary>
    WriteTxnMarkers = 27,
    /// <summary>The TxnOffsetCommit API (key 28).</summary>
    TxnOffsetCommit = 28,
    /// <summary>The DescribeAcls API (key 29).</summary>
    DescribeAcls = 29,
    /// <summary>The CreateAcls API (key 30).</summary>
    CreateAcls = 30,
    /// <summary>The DeleteAcls API (key 31).</summary>
    DeleteAcls = 31,
    /// <summary>The DescribeConfigs API (key 32).</summary>
    DescribeConfigs = 32,
    /// <summary>The AlterConfigs API (key 33).</summary>
    AlterConfigs = 33,
    /// <summary>The AlterReplicaLogDirs API (key 34).</summary>
    AlterReplicaLogDirs = 34,
    /// <summary>The DescribeLogDirs API (key 35).</summary>
    DescribeLogDirs = 35,
    /// <summary>The SaslAuthenticate API (key 36).</summary>
    SaslAuthenticate = 36,
    /// <summary>The CreatePartitions API (key 37).</summary>
    CreatePartitions = 37,
    /// <summary>The CreateDelegationToken API (key 38).</summary>
    CreateDelegationToken = 38,
    /// <summary>The RenewDelegationToken API (key 39).</summary>
    RenewDelegationToken = 39,
    /// <summary>The ExpireDelegationToken API (key 40).</summary>
    ExpireDelegationToken = 40,
    /// <summary>The DescribeDelegationToken API (key 41).</summary>
    DescribeDelegationToken = 41,
    /// <summary>The DeleteGroups API (key 42).</summary>
    DeleteGroups = 42,
    /// <summary>The ElectLeaders API (key 43).</summary>
    ElectLeaders = 43,
    /// <summary>The IncrementalAlterConfigs API (key 44).</summary>
    IncrementalAlterConfigs = 44,
    /// <summary>The AlterPartitionReassignments API (key 45).</summary>
    AlterPartitionReassignments = 45,
    /// <summary>The ListPartitionReassignments API (key 46).</summary>
    ListPartitionReassignments = 46,
    /// <summary>The OffsetDelete API (key 47).</summary>
    OffsetDelete = 47,
    /// <summary>The DescribeClientQuotas API (key 48).</summary>
    DescribeClientQuotas = 48,
    /// <summary>The AlterClientQuotas API (key 49).</summary>
    AlterClientQuotas = 49,
    /// <summary>The DescribeUserScramCredentials API (key 50).</summary>
    DescribeUserScramCredentials = 50,
    /// <summary>The AlterUserScramCredentials API (key 51).</summary>
    AlterUserScramCredentials = 51,
    /// <summary>The Vote API (key 52).</summary>
    Vote = 52,
    /// <summary>The BeginQuorumEpoch API (key 53).</summary>
    BeginQuorumEpoch = 53,
    /// <summary>The EndQuorumEpoch API (key 54).</summary>
    EndQuorumEpoch = 54,
    /// <summary>The DescribeQuorum API (key 55).</summary>
    DescribeQuorum = 55,
    /// <summary>The AlterPartition API (key 56).</summary>
    AlterPartition = 56,
    /// <summary>The UpdateFeatures API (key 57).</summary>
    UpdateFeatures = 57,
    /// <summary>The Envelope API (key 58).</summary>
    Envelope = 58,
    /// <summary>The FetchSnapshot API (key 59).</summary>
    FetchSnapshot = 59,
    /// <summary>The DescribeCluster API (key 60).</summary>
    DescribeCluster = 60,
    /// <summary>The DescribeProducers API (key 61).</summary>
    DescribeProducers = 61,
    /// <summary>The BrokerRegistration API (key 62).</summary>
    BrokerRegistration = 62,
    /// <summary>The BrokerHeartbeat API (key 63).</summary>
    BrokerHeartbeat = 63,
    /// <summary>The UnregisterBroker API (key 64).</summary>
    UnregisterBroker = 64,
    /// <summary>The DescribeTransactions API (key 65).</summary>
    DescribeTransactions = 65,
    /// <summary>The ListTransactions API (key 66).</summary>
    ListTransactions = 66,
    /// <summary>The AllocateProducerIds API (key 67).</summary>
    AllocateProducerIds = 67,
    /// <summary>The ConsumerGroupHeartbeat API (key 68).</summary>
    ConsumerGroupHeartbeat = 68,
    /// <summary>The ConsumerGroupDescribe API (key 69).</summary>
    ConsumerGroupDescribe = 69,
    /// <summary>The ControllerRegistration API (key 70).</summary>
    ControllerRegistration = 70,
    /// <summary>The GetTelemetrySubscriptions API (key 71).</summary>
    GetTelemetrySubscriptions = 71,
    /// <summary>The PushTelemetry API (key 72).</summary>
    PushTelemetry = 72,
    /// <summary>The AssignReplicasToDirs API (key 73).</summary>
    AssignReplicasToDirs = 73,
    /// <summary>The ListClientMetricsResources API (key 74).</summary>
    ListClientMetricsResources = 74,
    /// <summary>The DescribeTopicPartitions API (key 75).</summary>
    DescribeTopicPartitions = 75,
    /// <summary>The ShareGroupHeartbeat API (key 76).</summary>
    ShareGroupHeartbeat = 76,
    /// <summary>The ShareGroupDescribe API (key 77).</summary>
    ShareGroupDescribe = 77,
    /// <summary>The ShareFetch API (key 78).</summary>
    ShareFetch = 78,
    /// <summary>The ShareAcknowledge API (key 79).</summary>
    ShareAcknowledge = 79,
    /// <summary>The AddRaftVoter API (key 80).</summary>
    AddRaftVoter = 80,
    /// <summary>The RemoveRaftVoter API (key 81).</summary>
    RemoveRaftVoter = 81,
    /// <summary>The UpdateRaftVoter API (key 82).</summary>
    UpdateRaftVoter = 82,
    /// <summary>The InitializeShareGroupState API (key 83).</summary>
    InitializeShareGroupState = 83,
    /// <summary>The ReadShareGroupState API (key 84).</summary>
    ReadShareGroupState = 84,
    /// <summary>The WriteShareGroupState API (key 85).</summary>
    WriteShareGroupState = 85,
    /// <summary>The DeleteShareGroupState API (key 86).</summary>
    DeleteShareGroupState = 86,
    /// <summary>The ReadShareGroupStateSummary API (key 87).</summary>
    ReadShareGroupStateSummary = 87,
}
