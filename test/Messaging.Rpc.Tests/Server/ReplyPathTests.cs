using System.Text;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// The two ways a reply leaves the server — handed to the producer at once with a delivery handler, or through the
/// awaited produce when the producer would have to wait — give the same reply and counts, and a request finishes
/// exactly once, only after its reply was acknowledged, whichever of processing and acknowledgement ends last.
/// </summary>
public sealed class ReplyPathTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Both_paths_send_the_same_reply_and_count_it(bool producerTakesItAtOnce)
    {
        var harness = new DispatchHarness();
        harness.Sink.Buffers = producerTakesItAtOnce;
        harness.Map<EchoRequest, EchoReply>("Echo", (request, context) => ValueTask.FromResult(new EchoReply(request.Text, context.Method)));
        var id = Guid.NewGuid();

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", id, "replies", 2), DispatchHarness.Json("""{"text":"hi"}"""), new byte[] { 7 });

        Assert.NotNull(reply);
        Assert.Equal(id, reply.CorrelationId);
        Assert.Equal(2, reply.Partition);
        Assert.Equal(new byte[] { 7 }, reply.Key);
        Assert.Equal("""{"text":"hi","method":"Echo"}""", Encoding.UTF8.GetString(reply.Value));
        Assert.Equal(1, harness.Counters.Replies);
        Assert.Equal(0, harness.Counters.ReplyFailures);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_failed_reply_is_counted_on_both_paths(bool producerTakesItAtOnce)
    {
        var harness = new DispatchHarness();
        harness.Sink.Buffers = producerTakesItAtOnce;
        harness.Sink.Failure = new InvalidOperationException("the broker said no");
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) => ValueTask.FromResult(new EchoReply(request.Text, "")));

        await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid()), DispatchHarness.Json("{}"));

        Assert.Equal(0, harness.Counters.Replies);
        Assert.Equal(1, harness.Counters.ReplyFailures);
    }

    [Fact]
    public void A_request_finishes_only_when_its_reply_is_acknowledged_after_processing_returned()
    {
        var harness = new DispatchHarness();
        harness.Sink.DeferAcknowledgements = true;
        var runner = StartEcho(harness);

        Assert.Single(harness.Sink.Replies); // sent, and processing has returned (the handler completed synchronously)
        Assert.Equal(0, runner.Finished);    // but the broker has not acknowledged the reply yet
        Assert.True(harness.Sink.Deferred.TryDequeue(out var acknowledge));
        acknowledge();
        Assert.Equal(1, runner.Finished);
        Assert.Equal(1, harness.Counters.Replies);
    }

    [Fact]
    public void A_request_acknowledged_before_processing_returned_finishes_once_when_it_returns()
    {
        var harness = new DispatchHarness(); // the fake sink acknowledges inside the send, before processing returns
        var runner = StartEcho(harness);

        Assert.Equal(1, runner.Finished);
        Assert.Equal(1, harness.Counters.Replies);
    }

    [Fact]
    public void A_reply_the_producer_refuses_is_counted_once_and_its_request_finishes_once()
    {
        var harness = new DispatchHarness();
        harness.Sink.Refusal = new ProduceException(ProduceErrorKind.RecordTooLarge, ErrorCode.MessageTooLarge, new TopicPartition("replies", 1), "too large", false);
        var runner = StartEcho(harness);

        Assert.Equal(1, runner.Finished);
        Assert.Equal(1, harness.Counters.ReplyFailures);
        Assert.Equal(0, harness.Counters.Replies);
        Assert.Empty(harness.Sink.Replies);
    }

    [Fact]
    public async Task A_raw_handlers_bytes_go_to_the_producer_without_a_pooled_stream()
    {
        var harness = new DispatchHarness();
        harness.MapRaw("Echo", static (payload, _) => ValueTask.FromResult(payload));
        var streams = 0;
        harness.Streams.StreamCreated += (_, _) => Interlocked.Increment(ref streams);

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid(), contentType: null), new byte[] { 4, 5, 6 });

        Assert.Equal(new byte[] { 4, 5, 6 }, reply!.Value);
        Assert.Equal(0, streams);
    }

    /// <summary>Maps a raw echo, reads one request for it and starts it as the server's loop does; returns the runner counting its finishes.</summary>
    private static CountingRunner StartEcho(DispatchHarness harness)
    {
        harness.MapRaw("Echo", static (payload, _) => ValueTask.FromResult(payload));
        var runner = new CountingRunner(harness.Dispatcher);
        var request = new ServerRequest();
        Assert.True(harness.Read(request, DispatchHarness.Headers("Echo", Guid.NewGuid(), contentType: null), new byte[] { 1, 2, 3 }));
        request.Start(runner);
        return runner;
    }

    /// <summary>Processes through the real dispatcher and counts finishes.</summary>
    private sealed class CountingRunner(RequestDispatcher dispatcher) : IRequestRunner
    {
        public int Finished;

        public ValueTask ProcessAsync(ServerRequest request) => dispatcher.ProcessAsync(request);

        public void Finish(ServerRequest request) => Interlocked.Increment(ref Finished);
    }
}
