using System.Text;

namespace Messaging.Rpc.Tests.Calls;

/// <summary>
/// A call's result read the wrong way — synchronously before the reply came, or twice — is a typed error for that
/// caller and nothing else: the call stays pending and completes normally, and no other caller's call is touched.
/// </summary>
public sealed class PendingCallResultTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reading_the_result_before_the_reply_throws_and_the_call_still_gets_its_reply()
    {
        var calls = Create();
        var (call, generation, reply) = await AddAsync(calls);

        var thrown = Assert.Throws<InvalidOperationException>(() => reply.GetAwaiter().GetResult());

        // Had the early read recycled the call, its method and codec would be gone (the decode below would fail) and
        // its await would find a stale token.
        Assert.Equal(1, calls.Count);
        Assert.Equal("method", call.Method);
        Assert.True(call.TryClaim(generation));
        Assert.True(call.TryDecodeReply(Encoding.UTF8.GetBytes("""{"text":"late"}"""), out var error), error?.Message);
        call.CompleteWithReply();
        Assert.Equal(new Item("late"), await reply);
        Assert.Contains("has not completed", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_the_result_twice_throws_without_recycling_the_call_again()
    {
        var calls = Create();
        var (call, generation, reply) = await AddAsync(calls);
        Assert.True(call.TryClaim(generation));
        Assert.True(call.TryDecodeReply(Encoding.UTF8.GetBytes("""{"text":"once"}"""), out var error), error?.Message);
        call.CompleteWithReply();
#pragma warning disable xUnit1031 // Reading a completed call's result synchronously, twice, is what this test does.
        Assert.Equal(new Item("once"), reply.Result);

        // The second read of the same ValueTask: a typed error, and the call goes back to the pool only once — two
        // later calls never share it.
        Assert.Throws<InvalidOperationException>(() => reply.Result);
#pragma warning restore xUnit1031
        var first = PendingCall<Item>.Rent();
        var second = PendingCall<Item>.Rent();
        Assert.NotSame(first, second);
    }

    private static PendingCalls Create()
    {
        var options = new RpcClientOptions();
        return new PendingCalls(options, new RpcWire(options.Headers));
    }

    /// <summary>A call of this class's own reply type, <see cref="Item"/>: its pool is not shared with tests running in parallel.</summary>
    private static async Task<(PendingCall<Item> Call, int Generation, ValueTask<Item> Reply)> AddAsync(PendingCalls calls)
    {
        Assert.True(await calls.ReserveAsync(16, Patience, TestContext.Current.CancellationToken));
        var call = PendingCall<Item>.Rent();
        var time = TimeProvider.System;
        var start = time.GetTimestamp();
        var generation = calls.Add(call, "method", "topic", JsonRpcSerializer.Default, start, start + (long)(60 * time.TimestampFrequency), 16, default);
#pragma warning disable CA2012 // Each test reads the call's ValueTask the ways it names.
        return (call, generation, call.AsValueTask());
#pragma warning restore CA2012
    }

    public sealed record Item(string Text);
}
