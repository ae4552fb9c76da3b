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
