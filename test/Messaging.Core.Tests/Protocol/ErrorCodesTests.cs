using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class ErrorCodesTests
{
    [Fact]
    public void Table_has_every_code_from_minus_one_to_the_highest_in_order_and_matches_the_enum()
    {
        Assert.Equal(ErrorCodes.MaxCode - ErrorCodes.MinCode + 1, ErrorCodes.Count);
        for (int i = 0; i < ErrorCodes.Count; i++)
        {
            ErrorCodeInfo info = ErrorCodes.GetAt(i);
            Assert.Equal(ErrorCodes.MinCode + i, (short)info.Code);
            Assert.True(Enum.IsDefined(info.Code), info.Name);
            Assert.False(string.IsNullOrWhiteSpace(info.Description));
            Assert.Matches("^[A-Z_]+$", info.Name);
        }

        Assert.Equal(ErrorCodes.Count, Enum.GetValues<ErrorCode>().Length);
    }

    [Theory]
    [InlineData(ErrorCode.UnknownServerError, -1, "UNKNOWN_SERVER_ERROR", false)]
    [InlineData(ErrorCode.None, 0, "NONE", false)]
    [InlineData(ErrorCode.OffsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE", false)]
    [InlineData(ErrorCode.CorruptMessage, 2, "CORRUPT_MESSAGE", true)]
    [InlineData(ErrorCode.UnknownTopicOrPartition, 3, "UNKNOWN_TOPIC_OR_PARTITION", true)]
    [InlineData(ErrorCode.LeaderNotAvailable, 5, "LEADER_NOT_AVAILABLE", true)]
    [InlineData(ErrorCode.NotLeaderOrFollower, 6, "NOT_LEADER_OR_FOLLOWER", true)]
    [InlineData(ErrorCode.RequestTimedOut, 7, "REQUEST_TIMED_OUT", true)]
    [InlineData(ErrorCode.BrokerNotAvailable, 8, "BROKER_NOT_AVAILABLE", false)] // extends ApiException in Kafka
    [InlineData(ErrorCode.MessageTooLarge, 10, "MESSAGE_TOO_LARGE", false)]
    [InlineData(ErrorCode.NetworkException, 13, "NETWORK_EXCEPTION", true)]
    [InlineData(ErrorCode.CoordinatorLoadInProgress, 14, "COORDINATOR_LOAD_IN_PROGRESS", true)]
    [InlineData(ErrorCode.CoordinatorNotAvailable, 15, "COORDINATOR_NOT_AVAILABLE", true)]
    [InlineData(ErrorCode.NotCoordinator, 16, "NOT_COORDINATOR", true)]
    [InlineData(ErrorCode.NotEnoughReplicas, 19, "NOT_ENOUGH_REPLICAS", true)]
    [InlineData(ErrorCode.RebalanceInProgress, 27, "REBALANCE_IN_PROGRESS", false)]
    [InlineData(ErrorCode.TopicAuthorizationFailed, 29, "TOPIC_AUTHORIZATION_FAILED", false)]
    [InlineData(ErrorCode.UnsupportedVersion, 35, "UNSUPPORTED_VERSION", false)]
    [InlineData(ErrorCode.TopicAlreadyExists, 36, "TOPIC_ALREADY_EXISTS", false)]
    [InlineData(ErrorCode.NotController, 41, "NOT_CONTROLLER", true)]
    [InlineData(ErrorCode.ConcurrentTransactions, 51, "CONCURRENT_TRANSACTIONS", true)]
    [InlineData(ErrorCode.KafkaStorageError, 56, "KAFKA_STORAGE_ERROR", true)]
    [InlineData(ErrorCode.FencedLeaderEpoch, 74, "FENCED_LEADER_EPOCH", true)]
    [InlineData(ErrorCode.ThrottlingQuotaExceeded, 89, "THROTTLING_QUOTA_EXCEEDED", true)]
    [InlineData(ErrorCode.UnknownTopicId, 100, "UNKNOWN_TOPIC_ID", true)]
    [InlineData(ErrorCode.RebootstrapRequired, 129, "REBOOTSTRAP_REQUIRED", false)]
    [InlineData(ErrorCode.ShareSessionLimitReached, 133, "SHARE_SESSION_LIMIT_REACHED", true)]
    public void Known_codes_have_kafka_names_and_retriability(ErrorCode code, short value, string name, bool retriable)
    {
        Assert.Equal(value, (short)code);
        Assert.Equal(name, ErrorCodes.Name(code));
        Assert.Equal(retriable, ErrorCodes.IsRetriable(code));
        Assert.True(ErrorCodes.IsDefined(code));
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(134)]
    [InlineData(short.MaxValue)]
    public void Unknown_codes_are_not_retriable_and_have_a_placeholder_name(short value)
    {
        var code = (ErrorCode)value;
        Assert.False(ErrorCodes.IsDefined(code));
        Assert.False(ErrorCodes.IsRetriable(code));
        Assert.Equal("UNKNOWN_ERROR_CODE", ErrorCodes.Name(code));
        Assert.False(ErrorCodes.TryGetInfo(code, out _));
    }
}
