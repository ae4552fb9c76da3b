using Messaging.Consumer;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>Where the next Fetch starts, read from batch headers alone.</summary>
public sealed class FetcherScanTests
{
    [Fact]
    public void The_next_fetch_starts_after_the_last_complete_batch()
    {
        var data = Concat(Batch(0, 5, o => "v"), Batch(5, 3, o => "v"), Batch(8, 4, o => "v"));
        Assert.Equal(12, FetchResponseHandler.ScanEndOffset(data, 0, out _));
        Assert.Equal(8, FetchResponseHandler.ScanEndOffset(data.AsSpan(0, data.Length - 1), 0, out _)); // the last one is partial
        Assert.Equal(3, FetchResponseHandler.ScanEndOffset(data.AsSpan(0, 20), 3, out _)); // nothing complete: no progress
        Assert.Equal(3, FetchResponseHandler.ScanEndOffset([], 3, out _));
    }

    [Fact]
    public void A_corrupt_length_stops_the_scan_where_the_decoder_will_report_it()
    {
        var data = Concat(Batch(0, 5, o => "v"), Batch(5, 3, o => "v"));
        var corrupt = data.ToArray();
        int second = Batch(0, 5, o => "v").Length;
        corrupt[second + 8] = 0x7F; // the second batch's length: huge
        Assert.Equal(5, FetchResponseHandler.ScanEndOffset(corrupt, 0, out _));
    }
}
