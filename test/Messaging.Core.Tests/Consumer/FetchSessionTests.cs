using Messaging.Consumer;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Consumer;

/// <summary>The client side of KIP-227 fetch sessions, request by request.</summary>
public sealed class FetchSessionTests
{
    private static readonly Guid TopicId = Guid.NewGuid();
    private readonly PartitionCursor[] _cursors = [new(new TopicPartition("t", 0)), new(new TopicPartition("t", 1)), new(new TopicPartition("u", 0))];

    private List<FetchTarget> Targets(params (int Cursor, long Offset)[] targets) =>
        targets.Select(t => new FetchTarget(_cursors[t.Cursor], _cursors[t.Cursor].Generation, t.Offset, 5, TopicId)).ToList();

    private static List<(string Topic, int Partition, long Offset)> Sent(FetchRequest request) =>
        request.Topics.SelectMany(t => t.Partitions.Select(p => (t.Topic, p.Partition, p.FetchOffset))).ToList();

    [Fact]
    public void A_session_goes_full_then_incremental_sending_only_changes_and_forgetting_dropped_partitions()
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        session.Build(request, Targets((2, 0), (1, 0), (0, 0)), 1000);
        Assert.Equal(0, request.SessionId);
        Assert.Equal(0, request.SessionEpoch);
        Assert.Equal([("t", 0, 0L), ("t", 1, 0L), ("u", 0, 0L)], Sent(request)); // grouped by topic, sorted
        Assert.Equal(5, request.Topics[0].Partitions[0].CurrentLeaderEpoch);
        Assert.Equal(1000, request.Topics[0].Partitions[0].PartitionMaxBytes);
        Assert.True(session.OnResponse(new FetchResponse { SessionId = 42 }));
        Assert.True(session.IsIncremental);

        session.Build(request, Targets((0, 10), (1, 0), (2, 0)), 1000);
        Assert.Equal(42, request.SessionId);
        Assert.Equal(1, request.SessionEpoch);
        Assert.Equal([("t", 0, 10L)], Sent(request));
        Assert.Empty(request.ForgottenTopicsData);
        session.OnResponse(new FetchResponse { SessionId = 42 });

        session.Build(request, Targets((0, 10), (2, 3)), 1000); // partition t/1 no longer fetched here
        Assert.Equal(2, request.SessionEpoch);
        Assert.Equal([("u", 0, 3L)], Sent(request));
        var forgotten = Assert.Single(request.ForgottenTopicsData);
        Assert.Equal("t", forgotten.Topic);
        Assert.Equal(TopicId, forgotten.TopicId);
        Assert.Equal([1], forgotten.Partitions);
        session.OnResponse(new FetchResponse { SessionId = 42 });

        session.Build(request, Targets((0, 10), (1, 7), (2, 3)), 1000); // back again: sent as new
        Assert.Equal([("t", 1, 7L)], Sent(request));
        Assert.Equal(3, session.SessionPartitionCount);
    }

    [Theory]
    [InlineData(ErrorCode.FetchSessionIdNotFound)]
    [InlineData(ErrorCode.InvalidFetchSessionEpoch)]
    [InlineData(ErrorCode.FetchSessionTopicIdError)]
    public void Session_errors_start_over_with_a_full_fetch(ErrorCode error)
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        session.Build(request, Targets((0, 0), (1, 0)), 1000);
        session.OnResponse(new FetchResponse { SessionId = 9 });
        session.Build(request, Targets((0, 4), (1, 0)), 1000);
        Assert.False(session.OnResponse(new FetchResponse { ErrorCode = error, SessionId = 9 }));
        session.Build(request, Targets((0, 4), (1, 0)), 1000);
        Assert.Equal(error == ErrorCode.FetchSessionIdNotFound ? 0 : 9, request.SessionId); // closes the session the broker still holds
        Assert.Equal(0, request.SessionEpoch);
        Assert.Equal(2, Sent(request).Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_failed_request_or_a_top_level_error_closes_the_session_with_the_next_full_fetch(bool requestFailed)
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        session.Build(request, Targets((0, 0), (1, 0)), 1000);
        session.OnResponse(new FetchResponse { SessionId = 9 });
        session.Build(request, Targets((0, 4), (1, 0)), 1000);
        if (requestFailed)
        {
            session.Reset(); // connection lost, timed out
        }
        else
        {
            Assert.True(session.OnResponse(new FetchResponse { ErrorCode = ErrorCode.UnknownServerError }));
        }

        session.Build(request, Targets((0, 4), (1, 0)), 1000);
        Assert.Equal(9, request.SessionId);
        Assert.Equal(0, request.SessionEpoch);
        Assert.Equal(2, Sent(request).Count);
        Assert.True(session.OnResponse(new FetchResponse { SessionId = 10 }));
        session.Build(request, Targets((0, 4), (1, 0)), 1000);
        Assert.Equal(10, request.SessionId);
        Assert.Equal(1, request.SessionEpoch);
    }

    [Fact]
    public void A_broker_that_gives_no_session_id_gets_full_requests_and_a_disabled_session_asks_for_none()
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        for (int i = 0; i < 3; i++)
        {
            session.Build(request, Targets((0, i), (1, 0)), 1000);
            Assert.Equal(0, request.SessionEpoch);
            Assert.Equal(2, Sent(request).Count);
            session.OnResponse(new FetchResponse { SessionId = 0 });
        }

        var off = new FetchSession(enabled: false);
        off.Build(request, Targets((0, 0)), 1000);
        off.OnResponse(new FetchResponse { SessionId = 5 });
        off.Build(request, Targets((0, 1)), 1000);
        Assert.Equal(0, request.SessionId);
        Assert.Equal(-1, request.SessionEpoch);
        Assert.Equal([("t", 0, 1L)], Sent(request));
    }

    [Fact]
    public void The_epoch_wraps_to_one_and_a_reset_forgets_everything()
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        session.Build(request, Targets((0, 0)), 1000);
        session.OnResponse(new FetchResponse { SessionId = 3 });
        for (int i = 0; i < 5; i++)
        {
            session.Build(request, Targets((0, i)), 1000);
            session.OnResponse(new FetchResponse { SessionId = 3 });
        }

        Assert.Equal(6, session.Epoch);
        session.Reset();
        Assert.False(session.IsIncremental);
        Assert.Equal(0, session.SessionPartitionCount);
    }

    [Fact]
    public void An_incremental_fetch_sends_a_partition_whose_last_fetched_epoch_alone_changed()
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        FetchTarget Target(int lastFetchedEpoch) => new(_cursors[0], _cursors[0].Generation, 10, 5, TopicId, lastFetchedEpoch);
        session.Build(request, [Target(3)], 1000);
        Assert.Equal(3, request.Topics[0].Partitions[0].LastFetchedEpoch);
        session.OnResponse(new FetchResponse { SessionId = 42 });
        session.Build(request, [Target(3)], 1000);
        Assert.Empty(Sent(request));
        session.OnResponse(new FetchResponse { SessionId = 42 });

        session.Build(request, [Target(2)], 1000); // a diverging epoch at the same offset: the broker's session must learn it
        Assert.Equal([("t", 0, 10L)], Sent(request));
        Assert.Equal(2, request.Topics[0].Partitions[0].LastFetchedEpoch);
    }

    [Fact]
    public void A_partition_whose_topic_was_made_anew_is_sent_with_its_new_id_and_forgotten_under_its_old_one()
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        var recreated = Guid.NewGuid();
        FetchTarget Target(int cursor, Guid topicId) => new(_cursors[cursor], _cursors[cursor].Generation, 10, 5, topicId);
        session.Build(request, [Target(0, TopicId), Target(1, TopicId)], 1000);
        session.OnResponse(new FetchResponse { SessionId = 42 });

        // The topic was deleted and created again: metadata names t/0 by its new id. The broker's session keys its
        // partitions by topic id (KIP-516), so the old one must be forgotten or it stays there, failing every Fetch.
        session.Build(request, [Target(0, recreated), Target(1, TopicId)], 1000);
        var sent = Assert.Single(request.Topics);
        Assert.Equal(recreated, sent.TopicId);
        Assert.Equal([0], sent.Partitions.Select(p => p.Partition));
        var forgotten = Assert.Single(request.ForgottenTopicsData);
        Assert.Equal(("t", TopicId), (forgotten.Topic, forgotten.TopicId));
        Assert.Equal([0], forgotten.Partitions);
        session.OnResponse(new FetchResponse { SessionId = 42 });

        session.Build(request, [Target(0, recreated), Target(1, TopicId)], 1000); // settled: nothing more to send or forget
        Assert.Empty(request.Topics);
        Assert.Empty(request.ForgottenTopicsData);
        Assert.Equal(2, session.SessionPartitionCount);
    }

    [Fact]
    public void A_topic_named_by_name_alone_is_not_forgotten_when_its_id_changes()
    {
        var session = new FetchSession(enabled: true);
        var request = new FetchRequest();
        FetchTarget Target(Guid topicId) => new(_cursors[0], _cursors[0].Generation, 10, 5, topicId);
        session.Build(request, [Target(TopicId)], 1000, topicIds: false);
        session.OnResponse(new FetchResponse { SessionId = 42 });

        // Fetch v12 names topics: forgetting t/0 would drop the partition the same request adds again.
        session.Build(request, [Target(Guid.NewGuid())], 1000, topicIds: false);
        Assert.Equal([("t", 0, 10L)], Sent(request));
        Assert.Empty(request.ForgottenTopicsData);
    }

    [Fact]
    public void Unchanged_partitions_reuse_the_request_objects()
    {
        var session = new FetchSession(enabled: false);
        var request = new FetchRequest();
        session.Build(request, Targets((0, 0), (1, 0)), 1000);
        var topics = request.Topics;
        session.Build(request, Targets((0, 5), (1, 6)), 1000);
        Assert.Same(topics, request.Topics);
        Assert.Equal([("t", 0, 5L), ("t", 1, 6L)], Sent(request));
        session.Build(request, Targets((0, 5)), 1000);
        Assert.NotSame(topics, request.Topics);
    }
}
