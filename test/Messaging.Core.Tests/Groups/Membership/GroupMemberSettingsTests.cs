using Messaging.Errors;
using Messaging.Groups;

namespace Messaging.Core.Tests.Groups.Membership;

public sealed class GroupMemberSettingsTests
{
    [Fact]
    public void A_heartbeat_interval_not_below_the_session_timeout_is_refused()
    {
        var settings = new GroupMemberSettings("g") { SessionTimeout = TimeSpan.FromSeconds(3), HeartbeatInterval = TimeSpan.FromSeconds(3) };

        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.Contains("'g'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_group_instance_id_is_refused_and_null_means_dynamic()
    {
        Assert.Throws<ArgumentException>(new GroupMemberSettings("g") { GroupInstanceId = "" }.Validate);
        var dynamic = new GroupMemberSettings("g");
        dynamic.Validate();
        Assert.False(dynamic.IsStatic);
        Assert.True((dynamic with { GroupInstanceId = "i" }).IsStatic);
    }

    [Fact]
    public void The_join_timeout_covers_the_rebalance_timeout_plus_five_seconds_or_the_request_timeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(65), new GroupMemberSettings("g") { RebalanceTimeout = TimeSpan.FromMinutes(1), RequestTimeout = TimeSpan.FromSeconds(30) }.JoinGroupTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), new GroupMemberSettings("g") { RebalanceTimeout = TimeSpan.FromSeconds(10), RequestTimeout = TimeSpan.FromSeconds(30) }.JoinGroupTimeout);
    }

    [Fact]
    public void A_commit_failure_names_the_group_the_error_and_the_refused_partitions()
    {
        var error = KafkaExceptions.CommitFailed("orders", ErrorCode.IllegalGeneration, isRetriable: false,
            new Dictionary<TopicPartition, ErrorCode> { [new TopicPartition("t", 2)] = ErrorCode.IllegalGeneration }, "Rejoin.");

        Assert.Equal("orders", error.GroupId);
        Assert.Equal(ErrorCode.IllegalGeneration, error.Code);
        Assert.False(error.IsRetriable);
        Assert.Contains("'orders'", error.Message, StringComparison.Ordinal);
        Assert.Contains("ILLEGAL_GENERATION (22)", error.Message, StringComparison.Ordinal);
        Assert.Contains("t/2=ILLEGAL_GENERATION", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_group_refusal_names_the_group_the_api_and_the_error()
    {
        var error = KafkaExceptions.GroupRefused("orders", ApiKey.JoinGroup, ErrorCode.GroupMaxSizeReached, "full", "The member stops.");

        Assert.Equal(ErrorCode.GroupMaxSizeReached, error.Code);
        Assert.False(error.IsRetriable);
        Assert.Contains("Group 'orders': JoinGroup failed with GROUP_MAX_SIZE_REACHED", error.Message, StringComparison.Ordinal);
        Assert.Contains("Broker says: full", error.Message, StringComparison.Ordinal);
    }
}
