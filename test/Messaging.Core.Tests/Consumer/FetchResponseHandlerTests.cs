using Messaging.Consumer;
using Messaging.Protocol.Messages;
using Messaging.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>What a Fetch response's partition answers do to the cursor and to data already fetched.</summary>
public sealed class FetchResponseHandlerTests
{
    private static readonly TopicPartition Partition = new(Topic, 0);

    [Fact]
    public void Out_of_range_behind_records_not_yet_delivered_keeps_them_and_resets_only_once_they_are()
    {
        var cursors = new PartitionCursors();
        cursors.Assign([new TopicPartitionOffset(Partition, 0)]);
        var cursor = cursors.All[0];
        cursor.Leader = 1;
        var buffer = new FetchBuffer(long.MaxValue, static () => { });
        using var maintenance = new MaintenanceRequests(Clock.System);
        var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092", AutoOffsetReset = AutoOffsetReset.Earliest };
        var handler = new FetchResponseHandler(cursors, buffer, maintenance, options, new ConsumerLog(NullLogger.Instance), Clock.System, _ => { });
        var frames = new CountingResponsePool();

        // Records 0-4 arrive and wait for the application; the fetch moves on to 5.
        Fetch(cursors, handler, frames, ErrorCode.None, Batch(0, 5, o => "v" + o));
        Assert.Equal(5, cursor.FetchOffset);
        Assert.True(buffer.TryTake(out var data));

        // Offset 5 is out of range (retention moved the log start past it) before the application read 0-4.
        Fetch(cursors, handler, frames, ErrorCode.OffsetOutOfRange, null);
        Assert.True(cursor.Generation == data.Generation, "the records fetched before the out-of-range answer were dropped");
        Assert.Equal(0, cursor.Position);
        Assert.Equal(CursorState.Fetching, cursor.State);

        // Once the application has them, the same answer resets the position.
        data.Generation.Advance(5, -1);
        buffer.Done(data);
        Fetch(cursors, handler, frames, ErrorCode.OffsetOutOfRange, null);
        Assert.Equal(CursorState.Resetting, cursor.State);
        Assert.True(cursor.PendingReset.IsEarliest);
        Assert.Equal(frames.Rents, frames.Returns);
    }

    [Theory]
    [InlineData(ErrorCode.TopicAuthorizationFailed)]
    [InlineData(ErrorCode.None)] // data with no complete batch: the decoder reports it when it gets there
    public void A_pause_that_drops_a_queued_partition_error_fetches_the_partition_again_on_resume(ErrorCode error)
    {
        var cursors = new PartitionCursors();
        cursors.Assign([new TopicPartitionOffset(Partition, 0)]);
        var cursor = cursors.All[0];
        cursor.Leader = 1;
        var buffer = new FetchBuffer(long.MaxValue, static () => { });
        using var maintenance = new MaintenanceRequests(Clock.System);
        var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092" };
        var handler = new FetchResponseHandler(cursors, buffer, maintenance, options, new ConsumerLog(NullLogger.Instance), Clock.System, _ => { });
        var frames = new CountingResponsePool();

        Fetch(cursors, handler, frames, ErrorCode.None, Batch(0, 5, o => "v" + o));
        var batch = Batch(5, 5, o => "v" + o);
        Fetch(cursors, handler, frames, error, error == ErrorCode.None ? batch[..^3] : null);
        Assert.Equal(CursorState.Held, cursor.State);

        // The application pauses before it reached the records or the error: both are dropped, and resumes.
        cursors.Pause([Partition]);
        cursors.Resume([Partition], buffer);
        while (buffer.TryTake(out var stale))
        {
            Assert.False(stale.Generation == cursor.Generation, "queued data survived the pause");
            buffer.Done(stale);
        }

        // Nothing of the partition is queued any more, so it must be fetched again from the position, where the
        // failure (if it lasts) is met and reported again; held, it would never be read nor reported.
        Assert.Equal(CursorState.Fetching, cursor.State);
        Assert.Equal(0, cursor.FetchOffset);
        Assert.True(cursor.IsFetchable(long.MaxValue));
        Assert.Equal(frames.Rents, frames.Returns);
    }

    [Fact]
    public void A_partition_held_after_its_error_was_delivered_stays_held_across_a_pause()
    {
        var cursors = new PartitionCursors();
        cursors.Assign([new TopicPartitionOffset(Partition, 7)]);
        var cursor = cursors.All[0];
        cursor.Leader = 1;
        cursors.Hold(cursor, cursor.Generation, 7); // the application got the error: it must seek to go on
        cursors.Pause([Partition]);
        cursors.Resume([Partition], new FetchBuffer(long.MaxValue, static () => { }));
        Assert.Equal(CursorState.Held, cursor.State);
        Assert.False(cursor.IsFetchable(long.MaxValue));
    }

    [Fact]
    public void A_read_replica_the_leader_names_is_fetched_from_until_the_metadata_max_age_then_the_leader_is_asked_again()
    {
        using var rig = new MovingPartition();
        rig.Fetch(1, ErrorCode.None, preferredReadReplica: 2); // the leader sends no records, names broker 2
        Assert.Equal(2, rig.Cursor.FetchNode);
        rig.Fetch(2, ErrorCode.None, Batch(0, 5, o => "v" + o));
        Assert.Equal(5, rig.Cursor.FetchOffset);
        Assert.Equal(2, rig.Cursor.FetchNode);

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        rig.Fetch(2, ErrorCode.None);
        Assert.Equal(1, rig.Cursor.FetchNode);
        Assert.Equal([2, 1], rig.Woken);
        while (rig.Buffer.TryTake(out var chunk))
        {
            rig.Buffer.Done(chunk);
        }

        Assert.Equal(rig.Frames.Rents, rig.Frames.Returns);
    }

    [Fact]
    public void Out_of_range_on_the_read_replica_goes_back_to_the_leader_without_resetting_the_position()
    {
        using var rig = new MovingPartition();
        rig.Fetch(1, ErrorCode.None, preferredReadReplica: 2);
        rig.Fetch(2, ErrorCode.OffsetOutOfRange); // a follower behind the leader
        Assert.Equal(1, rig.Cursor.FetchNode);
        Assert.Equal(CursorState.Fetching, rig.Cursor.State);
        Assert.Equal(0, rig.Cursor.FetchOffset);
        Assert.Equal([2, 1], rig.Woken);
    }

    [Fact]
    public void An_unknown_server_error_for_a_partition_is_fetched_again_after_the_backoff_not_held()
    {
        using var rig = new MovingPartition();
        rig.Fetch(1, ErrorCode.UnknownServerError);
        Assert.Equal(CursorState.Fetching, rig.Cursor.State);
        Assert.False(rig.Buffer.TryTake(out _), "an error was queued for the application");
        long now = new Clock(rig.Time).Now;
        Assert.False(rig.Cursor.IsFetchable(now));
        rig.Time.Advance(TimeSpan.FromMilliseconds(100)); // the default retry backoff
        Assert.True(rig.Cursor.IsFetchable(new Clock(rig.Time).Now));
    }

    [Fact]
    public void A_partition_sought_while_its_fetch_was_out_is_fetched_at_once_when_that_fetch_fails()
    {
        using var rig = new MovingPartition();
        var targets = Collect(rig.Cursors, 1); // out at broker 1, for offset 0
        rig.Cursors.Seek(Partition, OffsetSpec.At(5));

        rig.Handler.FailFetch(1, targets, new IOException("connection lost"), refreshMetadata: false);

        Assert.True(rig.Cursor.IsFetchable(new Clock(rig.Time).Now), "the position sought while the failed Fetch was out waits the failed Fetch's backoff");
        Assert.Equal(5, Request(rig).FetchOffset);
    }

    [Fact]
    public void A_fetch_after_records_carries_the_leader_epoch_of_their_last_batch_and_a_seek_clears_it()
    {
        using var rig = new MovingPartition();
        rig.Fetch(1, ErrorCode.None, Concat(Batch(0, 3, o => "v" + o, configure: b => b.PartitionLeaderEpoch = 2), Batch(3, 2, o => "v" + o, configure: b => b.PartitionLeaderEpoch = 3)));
        var sent = Request(rig);
        Assert.Equal(5, sent.FetchOffset);
        Assert.Equal(3, sent.LastFetchedEpoch);
        Assert.Equal(7, sent.CurrentLeaderEpoch);

        rig.Cursors.Seek(Partition, OffsetSpec.At(2)); // the epoch before an offset the application names is not known
        Assert.Equal(-1, Request(rig).LastFetchedEpoch);
    }

    [Fact]
    public void A_diverging_epoch_below_the_position_moves_the_position_back_with_a_warning_and_delivers_nothing_of_the_answer()
    {
        using var rig = new MovingPartition();
        rig.Fetch(1, ErrorCode.None, Batch(0, 10, o => "v" + o, configure: b => b.PartitionLeaderEpoch = 3));
        Assert.True(rig.Buffer.TryTake(out var data));
        data.Generation.Advance(10, -1); // the application consumed 0-9
        rig.Buffer.Done(data);

        // A new leader lacks records 6-9 (an unclean election): its log diverges after epoch 2, which ends at 6.
        rig.Fetch(1, ErrorCode.None, Batch(10, 5, o => "w" + o, configure: b => b.PartitionLeaderEpoch = 3), diverging: new FetchResponse.EpochEndOffset { Epoch = 2, EndOffset = 6 });
        Assert.False(rig.Buffer.TryTake(out _), "records of the diverging answer were delivered");
        Assert.Equal(CursorState.Fetching, rig.Cursor.State);
        Assert.Equal(6, rig.Cursor.Position);
        var sent = Request(rig);
        Assert.Equal(6, sent.FetchOffset);
        Assert.Equal(2, sent.LastFetchedEpoch);
        var warning = Assert.Single(rig.Log.Warnings);
        Assert.Contains(Partition.ToString(), warning, StringComparison.Ordinal);
        Assert.Contains("position 10", warning, StringComparison.Ordinal);
        Assert.Contains("offset 6", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void A_diverging_epoch_past_the_position_drops_what_was_fetched_ahead_and_fetches_it_again_from_the_position()
    {
        using var rig = new MovingPartition();
        rig.Fetch(1, ErrorCode.None, Batch(0, 10, o => "v" + o, configure: b => b.PartitionLeaderEpoch = 3));
        var fetched = rig.Cursor.Generation;
        fetched.Advance(4, 3); // the application has 0-3; 4-9 wait for it

        rig.Fetch(1, ErrorCode.None, diverging: new FetchResponse.EpochEndOffset { Epoch = 2, EndOffset = 7 });
        Assert.NotSame(fetched, rig.Cursor.Generation); // 7-9 were fetched from the diverged log: what waits is dropped
        Assert.Equal(4, rig.Cursor.Position);
        var sent = Request(rig);
        Assert.Equal(4, sent.FetchOffset);
        Assert.Equal(2, sent.LastFetchedEpoch);
        Assert.Empty(rig.Log.Warnings);
        while (rig.Buffer.TryTake(out var stale))
        {
            rig.Buffer.Done(stale);
        }

        Assert.Equal(rig.Frames.Rents, rig.Frames.Returns);
    }

    [Fact]
    public void A_diverging_epoch_below_the_position_with_auto_offset_reset_error_holds_the_partition_with_a_log_truncation_error()
    {
        using var rig = new MovingPartition(AutoOffsetReset.Error);
        rig.Fetch(1, ErrorCode.None, Batch(0, 10, o => "v" + o, configure: b => b.PartitionLeaderEpoch = 3));
        Assert.True(rig.Buffer.TryTake(out var data));
        data.Generation.Advance(10, -1);
        rig.Buffer.Done(data);

        rig.Fetch(1, ErrorCode.None, Batch(10, 5, o => "w" + o, configure: b => b.PartitionLeaderEpoch = 3), diverging: new FetchResponse.EpochEndOffset { Epoch = 2, EndOffset = 6 });
        Assert.True(rig.Buffer.TryTake(out var chunk), "no error was queued for the application");
        var error = Assert.IsType<ConsumeException>(chunk.Error);
        Assert.Equal(ConsumeErrorKind.LogTruncation, error.Kind);
        Assert.Equal(10, error.Offset);
        Assert.Contains("offset 6", error.Message, StringComparison.Ordinal);
        Assert.Equal(CursorState.Held, rig.Cursor.State);
        Assert.Equal(10, rig.Cursor.Position);
        rig.Buffer.Done(chunk);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_partition_whose_leader_moved_while_its_fetch_was_out_wakes_the_new_leaders_fetcher_when_the_fetch_ends(bool fetchFails)
    {
        using var rig = new MovingPartition();
        var targets = Collect(rig.Cursors, 1); // out at broker 1
        lock (rig.Cursors.Sync)
        {
            rig.Cursor.Leader = 2; // metadata says broker 2 leads it now (as the maintenance loop routes it)
        }

        Assert.Empty(Collect(rig.Cursors, 2, expected: 0)); // broker 2's fetcher finds it in flight and waits for a signal
        if (fetchFails)
        {
            rig.Handler.FailFetch(1, targets, new IOException("connection lost"), refreshMetadata: false);
        }
        else
        {
            Answer(rig.Handler, rig.Frames, targets, 1, ErrorCode.None, null); // broker 1 still answered for it, with nothing
        }

        Assert.Equal([2], rig.Woken);
    }

    /// <summary>The partition as the next Fetch to its leader (broker 1) asks for it.</summary>
    private static FetchRequest.FetchPartition Request(MovingPartition rig)
    {
        var targets = Collect(rig.Cursors, 1);
        var request = new FetchRequest();
        new FetchSession(enabled: true).Build(request, targets, 1000);
        rig.Cursors.RetryAt(targets, 0);
        return Assert.Single(Assert.Single(request.Topics).Partitions);
    }

    private static List<FetchTarget> Collect(PartitionCursors cursors, int node, int expected = 1)
    {
        var targets = new List<FetchTarget>();
        cursors.CollectTargets(node, targets, long.MaxValue);
        Assert.Equal(expected, targets.Count);
        return targets;
    }

    private static void Fetch(PartitionCursors cursors, FetchResponseHandler handler, CountingResponsePool frames, ErrorCode error, byte[]? records, int node = 1, int preferredReadReplica = -1,
        FetchResponse.EpochEndOffset? diverging = null) =>
        Answer(handler, frames, Collect(cursors, node), node, error, records, preferredReadReplica, diverging);

    private static void Answer(FetchResponseHandler handler, CountingResponsePool frames, List<FetchTarget> targets, int node, ErrorCode error, byte[]? records, int preferredReadReplica = -1,
        FetchResponse.EpochEndOffset? diverging = null)
    {
        var index = new Dictionary<TopicPartition, int> { [Partition] = 0 };
        var bytes = records ?? [];
        var array = frames.TryRent(Math.Max(bytes.Length, 1))!;
        bytes.CopyTo(array, 0);
        var frame = SharedBuffer.ForFrame(Messaging.Connection.ResponseFrame.Wrap(array, bytes.Length, frames));
        var response = new FetchResponse
        {
            Responses =
            [
                new FetchResponse.FetchableTopicResponse
                {
                    Topic = Topic,
                    Partitions =
                    [
                        new FetchResponse.PartitionData
                        {
                            PartitionIndex = 0, ErrorCode = error, HighWatermark = 100, PreferredReadReplica = preferredReadReplica, Records = records is null ? null : frame.Memory,
                            DivergingEpoch = diverging!,
                        },
                    ],
                },
            ],
        };
        handler.CompleteFetch(node, targets, index, [], response, frame, 12);
        frame.Release();
    }

    /// <summary>One partition at offset 0 led by broker 1, and a handler on a fake clock that records the brokers it wakes.</summary>
    private sealed class MovingPartition : IDisposable
    {
        private readonly MaintenanceRequests _maintenance;

        public MovingPartition(AutoOffsetReset reset = AutoOffsetReset.Earliest)
        {
            Cursors.Assign([new TopicPartitionOffset(Partition, 0)]);
            Cursor = Cursors.All[0];
            Cursor.Leader = 1;
            Cursor.LeaderEpoch = 7;
            var clock = new Clock(Time);
            _maintenance = new MaintenanceRequests(clock);
            var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092", AutoOffsetReset = reset, MetadataMaxAge = TimeSpan.FromMinutes(1) };
            Handler = new FetchResponseHandler(Cursors, Buffer, _maintenance, options, new ConsumerLog(Log), clock, Woken.Add);
        }

        public WarningLog Log { get; } = new();

        public FakeTimeProvider Time { get; } = new();

        public PartitionCursors Cursors { get; } = new();

        public PartitionCursor Cursor { get; }

        public FetchBuffer Buffer { get; } = new(long.MaxValue, static () => { });

        public CountingResponsePool Frames { get; } = new();

        public List<int> Woken { get; } = [];

        public FetchResponseHandler Handler { get; }

        public void Fetch(int node, ErrorCode error, byte[]? records = null, int preferredReadReplica = -1, FetchResponse.EpochEndOffset? diverging = null) =>
            FetchResponseHandlerTests.Fetch(Cursors, Handler, Frames, error, records, node, preferredReadReplica, diverging);

        public void Dispose() => _maintenance.Dispose();
    }

    /// <summary>Keeps the warnings logged.</summary>
    private sealed class WarningLog : ILogger
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }
}
