using System.Text;

namespace Messaging.Rpc.Tests.Server;

public sealed record EchoRequest(string Text);

public sealed record EchoReply(string Text, string Method);

/// <summary>Every outcome of a request becomes the status the wire format promises, without a broker.</summary>
public sealed class RequestDispatcherTests
{
    [Fact]
    public async Task A_handled_request_is_answered_with_its_key_correlation_id_and_route()
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Echo", (request, context) => ValueTask.FromResult(new EchoReply(request.Text, context.Method)));
        var id = Guid.NewGuid();

        var (routed, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", id, "replies", 3), DispatchHarness.Json("""{"text":"hi"}"""), new byte[] { 1, 2 });

        Assert.True(routed);
        Assert.NotNull(reply);
        Assert.Equal(RpcStatus.Ok, reply.Status);
        Assert.Equal(id, reply.CorrelationId);
        Assert.Equal("replies", reply.Topic);
        Assert.Equal(3, reply.Partition);
        Assert.Equal(new byte[] { 1, 2 }, reply.Key);
        Assert.Equal("""{"text":"hi","method":"Echo"}""", Encoding.UTF8.GetString(reply.Value));
        Assert.Equal("application/json", Encoding.UTF8.GetString(reply.Headers["messaging_rpc_content_type"]));
        Assert.Equal(1, harness.Counters.Handled);
    }

    [Fact]
    public async Task An_unknown_method_is_Unimplemented_and_names_the_method()
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) => ValueTask.FromResult(new EchoReply(request.Text, "")));

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Nope", Guid.NewGuid()), DispatchHarness.Json("{}"));

        Assert.Equal(RpcStatus.Unimplemented, reply!.Status);
        Assert.Contains("Nope", reply.Error, StringComparison.Ordinal);
        Assert.Equal(1, harness.Counters.Unimplemented);
        Assert.Equal(0, harness.Counters.Handled);
    }

    [Fact]
    public async Task An_undecodable_payload_is_InvalidArgument_and_the_handler_never_runs()
    {
        var harness = new DispatchHarness();
        var ran = 0;
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) =>
        {
            ran++;
            return ValueTask.FromResult(new EchoReply(request.Text, ""));
        });

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid()), DispatchHarness.Json("{not json"));

        Assert.Equal(RpcStatus.InvalidArgument, reply!.Status);
        Assert.Contains("could not be decoded", reply.Error, StringComparison.Ordinal);
        Assert.Equal(0, ran);
    }

    [Fact]
    public async Task A_handler_exception_is_Internal_with_its_message_and_no_stack_trace()
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Echo", (_, _) => throw new InvalidOperationException("the order book is closed"));

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid()), DispatchHarness.Json("{}"));

        Assert.Equal(RpcStatus.Internal, reply!.Status);
        Assert.Equal("InvalidOperationException: the order book is closed", reply.Error);
        Assert.Empty(reply.Value);
        Assert.Equal(1, harness.Counters.HandlerErrors);
    }

    [Fact]
    public async Task The_stack_trace_travels_only_when_enabled()
    {
        var harness = new DispatchHarness(o => o.IncludeExceptionDetails = true);
        harness.Map<EchoRequest, EchoReply>("Echo", (_, _) => Throw());

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid()), DispatchHarness.Json("{}"));

        Assert.Equal(RpcStatus.Internal, reply!.Status);
        Assert.Contains(" at ", reply.Error, StringComparison.Ordinal);
        Assert.Contains(nameof(Throw), reply.Error, StringComparison.Ordinal);

        static async ValueTask<EchoReply> Throw()
        {
            await Task.Yield();
            throw new InvalidOperationException("boom");
        }
    }

    [Theory]
    [InlineData(RpcStatus.NotFound)]
    [InlineData(RpcStatus.PermissionDenied)]
    [InlineData(RpcStatus.FailedPrecondition)]
    public async Task A_handler_RpcException_keeps_its_status_and_message(RpcStatus status)
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Echo", (_, _) => throw new RpcException(status, "order 42 says no"));

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid()), DispatchHarness.Json("{}"));

        Assert.Equal(status, reply!.Status);
        Assert.Equal("order 42 says no", reply.Error);
    }

    [Fact]
    public async Task An_expired_request_is_skipped_before_its_handler_and_counted()
    {
        var harness = new DispatchHarness();
        var ran = 0;
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) =>
        {
            ran++;
            return ValueTask.FromResult(new EchoReply(request.Text, ""));
        });

        var (routed, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid(), deadline: DateTimeOffset.UtcNow.AddSeconds(-1)), DispatchHarness.Json("{}"));

        Assert.True(routed);
        Assert.Null(reply);
        Assert.Equal(0, ran);
        Assert.Equal(1, harness.Counters.Expired);
    }

    [Fact]
    public async Task An_expired_request_can_be_answered_DeadlineExceeded()
    {
        var harness = new DispatchHarness(o => o.ExpiredRequests = RpcExpiredRequestPolicy.ReplyDeadlineExceeded);
        harness.Map<EchoRequest, EchoReply>("Echo", (_, _) => throw new InvalidOperationException("must not run"));

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid(), deadline: DateTimeOffset.UtcNow.AddSeconds(-1)), DispatchHarness.Json("{}"));

        Assert.Equal(RpcStatus.DeadlineExceeded, reply!.Status);
        Assert.Equal(0, harness.Counters.HandlerErrors);
    }

    [Fact]
    public async Task Garbled_headers_with_a_readable_route_are_InvalidArgument()
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Echo", (_, _) => throw new InvalidOperationException("must not run"));
        var noMethod = DispatchHarness.Headers(null, Guid.NewGuid());
        var badDeadline = DispatchHarness.Headers("Echo", Guid.NewGuid());
        badDeadline.Add(new RecordHeader("messaging_rpc_deadline", new byte[] { 1, 2, 3 })); // the last occurrence counts
        var wrongContentType = DispatchHarness.Headers("Echo", Guid.NewGuid(), contentType: "application/xml");

        foreach (var headers in new[] { noMethod, badDeadline, wrongContentType })
        {
            var (routed, reply) = await harness.RunAsync(headers, DispatchHarness.Json("{}"));

            Assert.True(routed);
            Assert.Equal(RpcStatus.InvalidArgument, reply!.Status);
        }

        Assert.Equal(3, harness.Counters.Malformed);
    }

    [Fact]
    public void Requests_without_a_readable_route_are_dropped_not_answered()
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) => ValueTask.FromResult(new EchoReply(request.Text, "")));
        var badPartition = DispatchHarness.Headers("Echo", Guid.NewGuid(), replyPartition: null);
        badPartition.Add(new RecordHeader("kafka_replyPartition", new byte[] { 0xFF }));
        var negativePartition = DispatchHarness.Headers("Echo", Guid.NewGuid(), replyPartition: -1);
        var topicWithoutId = DispatchHarness.Headers("Echo", correlationId: null);
        var idWithoutTopic = DispatchHarness.Headers("Echo", Guid.NewGuid(), replyTopic: null);
        var invalidUtf8Topic = DispatchHarness.Headers("Echo", Guid.NewGuid(), replyTopic: null);
        invalidUtf8Topic.Add(new RecordHeader("kafka_replyTopic", new byte[] { 0xC3, 0x28 }));
        var oneWayWithoutMethod = DispatchHarness.Headers(null, null, replyTopic: null, replyPartition: null);

        foreach (var headers in new[] { badPartition, negativePartition, topicWithoutId, idWithoutTopic, invalidUtf8Topic, oneWayWithoutMethod })
        {
            Assert.False(harness.Read(new ServerRequest(), headers, DispatchHarness.Json("{}")));
        }
    }

    [Fact]
    public async Task A_one_way_request_runs_its_handler_and_sends_nothing()
    {
        var harness = new DispatchHarness();
        var ran = 0;
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) =>
        {
            ran++;
            return ValueTask.FromResult(new EchoReply(request.Text, ""));
        });

        var (routed, reply) = await harness.RunAsync(DispatchHarness.Headers("Echo", null, replyTopic: null, replyPartition: null), DispatchHarness.Json("{}"));

        Assert.True(routed);
        Assert.Null(reply);
        Assert.Equal(1, ran);
    }

    [Fact]
    public async Task The_handler_token_fires_at_the_deadline_and_the_caller_gets_DeadlineExceeded()
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Slow", async (request, context) =>
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return new EchoReply(request.Text, "");
        });

        var (_, reply) = await harness.RunAsync(DispatchHarness.Headers("Slow", Guid.NewGuid(), deadline: DateTimeOffset.UtcNow.AddMilliseconds(200)), DispatchHarness.Json("{}"));

        Assert.Equal(RpcStatus.DeadlineExceeded, reply!.Status);
    }

    [Fact]
    public async Task A_handler_cancelled_by_shutdown_answers_Unavailable()
    {
        var harness = new DispatchHarness();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Map<EchoRequest, EchoReply>("Slow", async (request, context) =>
        {
            var token = context.CancellationToken;
            started.SetResult();
            await Task.Delay(Timeout.Infinite, token);
            return new EchoReply(request.Text, "");
        });

        var running = harness.RunAsync(DispatchHarness.Headers("Slow", Guid.NewGuid()), DispatchHarness.Json("{}"));
        await started.Task;
        await harness.Abort.CancelAsync();
        var (_, reply) = await running;

        Assert.Equal(RpcStatus.Unavailable, reply!.Status);
    }

    [Fact]
    public async Task Reply_streams_go_back_to_the_pool_when_handlers_encoding_and_sending_fail()
    {
        var harness = new DispatchHarness();
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) => ValueTask.FromResult(new EchoReply(request.Text, "")));
        harness.Map<EchoRequest, EchoReply>("Fail", (_, _) => throw new InvalidOperationException("no"));
        harness.Map<EchoRequest, Unencodable>("Unencodable", (_, _) => ValueTask.FromResult(new Unencodable()));
        var rents = 0L;
        var returns = 0L;
        harness.Streams.StreamCreated += (_, _) => Interlocked.Increment(ref rents);
        harness.Streams.StreamDisposed += (_, _) => Interlocked.Increment(ref returns);

        await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid()), DispatchHarness.Json("{}"));
        await harness.RunAsync(DispatchHarness.Headers("Fail", Guid.NewGuid()), DispatchHarness.Json("{}"));
        var (_, unencodable) = await harness.RunAsync(DispatchHarness.Headers("Unencodable", Guid.NewGuid()), DispatchHarness.Json("{}"));
        harness.Sink.Failure = new ProduceException(ProduceErrorKind.RecordTooLarge, ErrorCode.MessageTooLarge, new TopicPartition("replies", 1), "too large", false);
        await harness.RunAsync(DispatchHarness.Headers("Echo", Guid.NewGuid()), DispatchHarness.Json("{}"));

        Assert.Equal(RpcStatus.Internal, unencodable!.Status);
        Assert.Equal(4, rents);
        Assert.Equal(rents, returns);
        Assert.Equal(1, harness.Counters.ReplyFailures);
    }

    /// <summary>A reply type System.Text.Json refuses to write (a cycle).</summary>
    public sealed class Unencodable
    {
        public Unencodable Self => this;
    }
}
