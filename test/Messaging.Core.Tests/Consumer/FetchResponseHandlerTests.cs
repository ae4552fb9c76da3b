using Messaging.Consumer;
using Messaging.Protocol.Messages;
using Messaging.Threading;
using Microsoft.Extensions.Logging.Abstractions;
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
        var handler = new FetchResponseHandler(cursors, buffer, maintenance, options, new ConsumerLog(NullLogger.Instance), Clock.System);
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
        var handler = new FetchResponseHandler(cursors, buffer, maintenance, options, new ConsumerLog(NullLogger.Instance), Clock.System);
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

    private static void Fetch(PartitionCursors cursors, FetchResponseHandler handler, CountingResponsePool frames, ErrorCode error, byte[]? records)
    {
        var targets = new List<FetchTarget>();
        cursors.CollectTargets(1, targets, long.MaxValue);
        Assert.Single(targets);
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
                    Partitions = [new FetchResponse.PartitionData { PartitionIndex = 0, ErrorCode = error, HighWatermark = 100, Records = records is null ? null : frame.Memory }],
                },
            ],
        };
        handler.CompleteFetch(targets, index, [], response, frame, 12);
        frame.Release();
    }
}
