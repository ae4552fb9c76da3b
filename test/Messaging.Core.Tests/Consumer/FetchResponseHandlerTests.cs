using Messaging.Consumer;
using Messaging.Protocol.Messages;
using Messaging.Threading;
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
        data.Generation.Position = 5;
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

    private static List<FetchTarget> Collect(PartitionCursors cursors, int node, int expected = 1)
    {
        var targets = new List<FetchTarget>();
        cursors.CollectTargets(node, targets, long.MaxValue);
        Assert.Equal(expected, targets.Count);
        return targets;
    }

    private static void Fetch(PartitionCursors cursors, FetchResponseHandler handler, CountingResponsePool frames, ErrorCode error, byte[]? records, int node = 1, int preferredReadReplica = -1) =>
        Answer(handler, frames, Collect(cursors, node), node, error, records, preferredReadReplica);

    private static void Answer(FetchResponseHandler handler, CountingResponsePool frames, List<FetchTarget> targets, int node, ErrorCode error, byte[]? records, int preferredReadReplica = -1)
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
                    Partitions = [new FetchResponse.PartitionData { PartitionIndex = 0, ErrorCode = error, HighWatermark = 100, PreferredReadReplica = preferredReadReplica, Records = records is null ? null : frame.Memory }],
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

        public MovingPartition()
        {
            Cursors.Assign([new TopicPartitionOffset(Partition, 0)]);
            Cursor = Cursors.All[0];
            Cursor.Leader = 1;
            var clock = new Clock(Time);
            _maintenance = new MaintenanceRequests(clock);
            var options = new KafkaConsumerOptions { BootstrapServers = "localhost:9092", AutoOffsetReset = AutoOffsetReset.Earliest, MetadataMaxAge = TimeSpan.FromMinutes(1) };
            Handler = new FetchResponseHandler(Cursors, Buffer, _maintenance, options, new ConsumerLog(NullLogger.Instance), clock, Woken.Add);
        }

        public FakeTimeProvider Time { get; } = new();

        public PartitionCursors Cursors { get; } = new();

        public PartitionCursor Cursor { get; }

        public FetchBuffer Buffer { get; } = new(long.MaxValue, static () => { });

        public CountingResponsePool Frames { get; } = new();

        public List<int> Woken { get; } = [];

        public FetchResponseHandler Handler { get; }

        public void Fetch(int node, ErrorCode error, byte[]? records = null, int preferredReadReplica = -1) =>
            FetchResponseHandlerTests.Fetch(Cursors, Handler, Frames, error, records, node, preferredReadReplica);

        public void Dispose() => _maintenance.Dispose();
    }
}
