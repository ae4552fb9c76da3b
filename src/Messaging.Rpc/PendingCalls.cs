using System.Collections.Concurrent;

namespace Messaging.Rpc;

/// <summary>
/// The calls waiting for replies, by correlation ID, and every way one ends: its reply, its deadline (a sweep on a
/// timer aimed at the earliest deadline), its caller's cancellation, a failed send, or the client's disposal. Each path
/// claims the call first (<see cref="PendingCall.TryClaim"/>), so each call completes exactly once; the claimer removes
/// its entry and releases its share of the budget, so the map and the budget never keep a finished call.
/// </summary>
/// <remarks>
/// The deadline timer is not periodic: it is armed for the earliest deadline it may have to enforce, so an idle
/// client never wakes, and a busy one whose calls are answered long before their deadlines (the normal case) wakes
/// about once per deadline length, not once per check interval. A call whose deadline is no more than
/// <see cref="RpcClientOptions.DeadlineCheckInterval"/> after the armed time needs no re-arming (it fails at most that
/// late), so calls with similar deadlines cost one volatile read each, not a timer change.
/// </remarks>
internal sealed class PendingCalls
{
    private readonly ConcurrentDictionary<Guid, PendingCall> _calls = new();

    /// <summary>
    /// Correlation IDs of calls answered after their request was sent more than once (a retry or a hedge), with when
    /// to forget them: a later reply with one of them is a duplicate, not an unknown reply. Bounded by the pending
    /// calls limit; purged by the sweep.
    /// </summary>
    private readonly ConcurrentDictionary<Guid, long> _answered = new();
    private readonly int _maxAnswered;
    private readonly RpcMetrics _metrics = RpcMetrics.Shared;
    private readonly CallBudget _budget;
    private readonly TimeProvider _time;
    private readonly RpcWire _wire;
    private readonly ITimer _sweep;
    private readonly long _checkIntervalTicks;

    // The furthest the timer is armed ahead (one timer step): a deadline further out (a call with a timeout of months)
    // gets a sweep at this distance, which re-arms for what is left.
    private readonly long _maxArmTicks;
    private readonly Lock _arming = new();

    /// <summary>When the timer fires (a <see cref="TimeProvider.GetTimestamp"/>), <see cref="long.MaxValue"/> when disarmed. Written under <see cref="_arming"/>.</summary>
    private long _armedAt = long.MaxValue;

    /// <summary>Sweeps asked for: 0 none running; more than 1 means the running sweep goes again when it ends.</summary>
    private int _sweepRequests;
    private int _closed;
    private long _completed;
    private long _unmatchedReplies;
    private long _duplicateReplies;
    private long _malformedReplies;
    private long _deadlinesExceeded;
    private long _consumeErrors;

    public PendingCalls(RpcClientOptions options, RpcWire wire)
    {
        _time = options.TimeProvider;
        _wire = wire;
        _budget = new CallBudget(options.MaxPendingCalls, options.MaxPendingRequestBytes, _time);
        _maxAnswered = options.MaxPendingCalls;
        _checkIntervalTicks = Math.Max(1, TimestampTicks(options.DeadlineCheckInterval));
        _maxArmTicks = TimestampTicks(FarDeadline.MaxStep);
        _sweep = _time.CreateTimer(static state => ((PendingCalls)state!).Sweep(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>For tests: runs in each sweep right after it went through the calls, where an addition is one the sweep missed.</summary>
    internal Action? AfterCallsSwept { get; set; }

    /// <summary>Entries in the map (calls not yet completed).</summary>
    public int Count => _calls.Count;

    public RpcClientStatistics Statistics => new(
        _budget.Calls, _budget.Bytes, Interlocked.Read(ref _completed), Interlocked.Read(ref _deadlinesExceeded),
        Interlocked.Read(ref _unmatchedReplies), Interlocked.Read(ref _malformedReplies), Interlocked.Read(ref _consumeErrors))
    {
        DuplicateReplies = Interlocked.Read(ref _duplicateReplies),
    };

    public ValueTask<bool> ReserveAsync(int bytes, TimeSpan wait, CancellationToken cancellationToken) => _budget.ReserveAsync(bytes, wait, cancellationToken);

    /// <summary>Reserves room for a call only if it fits at once and no call waits for room; never waits.</summary>
    public bool TryReserveNow(int bytes) => _budget.TryReserveNow(bytes);

    public void Unreserve(int bytes) => _budget.Release(bytes);

    public (int Calls, long Bytes) Reserved => (_budget.Calls, _budget.Bytes);

    /// <summary>Calls waiting for room in the budget.</summary>
    public int WaitingForRoom => _budget.Waiting;

    /// <summary>
    /// Starts <paramref name="call"/> (its budget already reserved), enters it in the map and links the caller's token;
    /// returns its generation. From here on the call ends through one of this class's completions. An attempt of a
    /// resilient call (<paramref name="attempts"/>) — or a call whose interceptors already saw its ID (<paramref name="correlationId"/>) — enters under that ID: the previous attempt's
    /// entry is gone by then (its claimer removed it before completing it, and this attempt began after that).
    /// </summary>
    public int Add(PendingCall call, string method, string topic, IRpcSerializer serializer, long startTimestamp, long deadlineTimestamp, int requestBytes,
        CancellationToken cancellationToken, Guid correlationId = default, CallAttempts? attempts = null)
    {
        int generation;
        var id = attempts?.CorrelationId ?? (correlationId == Guid.Empty ? Guid.NewGuid() : correlationId);

        // Counted before the entry exists: a reply or the sweep may finish the call (and count it out) as soon as it
        // is in the map, and the pending-calls reading must never dip below the calls actually pending.
        _metrics.PendingCalls.Add(1);
        while (true)
        {
            generation = call.Begin(this, id, method, topic, serializer, startTimestamp, deadlineTimestamp, requestBytes, attempts);
            if (_calls.TryAdd(call.CorrelationId, call))
            {
                break;
            }

            // An ID a pending call holds (a random 122-bit collision, or an interceptor that sent the call twice at
            // once): claim this generation silently and draw again (an attempt whose ID is taken cannot be matched to
            // its own replies, so it too moves to a fresh one).
            call.TryClaim(generation);
            id = Guid.NewGuid();
        }

        if (attempts is not null && id != attempts.CorrelationId)
        {
            // The attempt entered under a fresh ID: its requests — and the call's later attempts and hedges — carry it.
            attempts.MoveTo(id);
        }

        EnsureSweepBy(deadlineTimestamp);

        // The race with Close: Close sets _closed and then drains the map; this added to the map and then reads _closed
        // (both through full fences). Either Close's drain sees the entry, or this sees the flag — or both, and the
        // claim decides.
        if (Volatile.Read(ref _closed) != 0)
        {
            Fail(call, generation, RpcErrors.Disposed(method, topic, call.CorrelationId, TimeSpan.Zero, false));
            return generation;
        }

        call.RegisterCancellation(generation, cancellationToken);
        return generation;
    }

    /// <summary>Claims the call; the winner removes its entry and releases its budget.</summary>
    private bool TryFinish(PendingCall call, int generation)
    {
        if (!call.TryClaim(generation))
        {
            return false;
        }

        _calls.TryRemove(new KeyValuePair<Guid, PendingCall>(call.CorrelationId, call));
        _budget.Release(call.RequestBytes);
        _metrics.PendingCalls.Add(-1);
        Interlocked.Increment(ref _completed);
        return true;
    }

    /// <summary>Fails the call with <paramref name="error"/> unless another path completed it first.</summary>
    public void Fail(PendingCall call, int generation, RpcException error)
    {
        if (TryFinish(call, generation))
        {
            call.SetError(error);
        }
    }

    public void Cancel(PendingCall call, int generation, CancellationToken token)
    {
        if (TryFinish(call, generation))
        {
            call.SetError(RpcErrors.Cancelled(call.Method!, call.Topic!, call.CorrelationId, Elapsed(call), call.IsAcknowledged(generation), token));
        }
    }

    /// <summary>The producer's report on the request of generation <paramref name="generation"/>: acknowledged, or failed (which fails the call).</summary>
    public void OnDelivered(PendingCall call, int generation, ProduceException? error)
    {
        if (error is null)
        {
            call.Acknowledge(generation);
        }
        else
        {
            OnSendFailed(call, generation, error);
        }
    }

    /// <summary>
    /// The producer's report on a hedged request: acknowledged counts for the call; a failure does not fail it (the
    /// first request may still be answered), the call's deadline still bounds it.
    /// </summary>
    public static void OnHedgeDelivered(PendingCall call, int generation, ProduceException? error)
    {
        if (error is null)
        {
            call.Acknowledge(generation);
        }
    }

    /// <summary>The request of generation <paramref name="generation"/> could not be sent: fails the call unless it is done already.</summary>
    public void OnSendFailed(PendingCall call, int generation, Exception error)
    {
        if (TryFinish(call, generation))
        {
            call.SetError(RpcErrors.SendFailed(call.Method, call.Topic, call.CorrelationId, Elapsed(call), error));
        }
    }

    /// <summary>
    /// A record from the reply partitions: completes the call it answers, decoding the payload straight from the
    /// pooled record (which the caller recycles right after); a decoded reply joins <paramref name="run"/>, which
    /// completes it on the thread pool. A reply with no or a malformed correlation ID, or whose
    /// call is not (or no longer) pending — late, duplicate, or another client's — is dropped and counted.
    /// </summary>
    public void OnReply(in ConsumedRecord record, ReplyRun run)
    {
        var headers = record.Headers;
        if (!headers.TryGetLast(_wire.CorrelationId, out var header) || !RpcWire.TryReadCorrelationId(header.Value.Span, out var id))
        {
            Interlocked.Increment(ref _malformedReplies);
            _metrics.Dropped("malformed");
            return;
        }

        if (!_calls.TryGetValue(id, out var call))
        {
            CountUnmatched(id);
            return;
        }

        var generation = call.Generation;
        if (call.CorrelationId != id || !TryFinish(call, generation))
        {
            CountUnmatched(id);
            return;
        }

        // Claimed first, sends read after: a hedge counts its send before it checks the claim, so either it sees the
        // claim and does not send, or this sees its send and remembers the call (see RpcClient.SendHedge).
        if (call.Attempts is { Sends: > 1 } attempts)
        {
            RememberAnswered(id, attempts);
        }

        // Claimed: the call cannot be recycled until its outcome is set, so its fields are stable here.
        var status = _wire.ReadStatus(headers);
        if (status != RpcStatus.Ok)
        {
            call.SetError(RpcErrors.ServerError(status, _wire.ReadErrorMessage(headers), call.Method!, call.Topic!, id, Elapsed(call)));
            return;
        }

        if (call.TryDecodeReply(record.IsValueNull ? default : record.Value.Span, out var decodeError))
        {
            run.Add(call);
        }
        else
        {
            call.SetError(RpcErrors.DecodeFailed(call.Method!, call.Topic!, id, Elapsed(call), decodeError!));
        }
    }

    private void CountUnmatched(Guid id)
    {
        if (_answered.ContainsKey(id))
        {
            Interlocked.Increment(ref _duplicateReplies);
            _metrics.Dropped("duplicate");
        }
        else
        {
            Interlocked.Increment(ref _unmatchedReplies);
            _metrics.Dropped("unmatched");
        }
    }

    /// <summary>
    /// Remembers an answered call that was sent more than once: until its deadline, and as long again as it may run
    /// in all (a server may still be working on the other request until the deadline it carries, and finish a little
    /// after).
    /// </summary>
    private void RememberAnswered(Guid id, CallAttempts attempts)
    {
        if (_answered.Count < _maxAnswered)
        {
            var remaining = attempts.Deadline - _time.GetUtcNow();
            if (remaining < TimeSpan.Zero)
            {
                remaining = TimeSpan.Zero;
            }

            var keep = remaining + _time.GetElapsedTime(attempts.Start) + remaining;
            var forgetAt = TimestampAfter(keep);
            _answered[id] = forgetAt;
            EnsureSweepBy(forgetAt);
        }
    }

    public void CountConsumeError() => Interlocked.Increment(ref _consumeErrors);

    /// <summary>Stops taking calls and fails every pending one with the disposal error.</summary>
    public void Close()
    {
        Interlocked.Exchange(ref _closed, 1);
        _budget.Close(); // calls waiting for room fail now, not at their deadlines, and take none
        lock (_arming)
        {
            _sweep.Dispose(); // under the lock: no EnsureSweepBy re-arms a disposed timer
        }

        _answered.Clear();
        foreach (var pair in _calls)
        {
            var call = pair.Value;
            var generation = call.Generation;
            if (call.CorrelationId == pair.Key && TryFinish(call, generation))
            {
                call.SetError(RpcErrors.Disposed(call.Method, call.Topic, pair.Key, Elapsed(call), call.IsAcknowledged(generation)));
            }
        }
    }

    /// <summary>
    /// Makes sure a sweep runs no later than <see cref="RpcClientOptions.DeadlineCheckInterval"/> after
    /// <paramref name="timestamp"/>. Called after the entry it is for is in its map, so a sweep that starts later sees
    /// the entry, and one that already disarmed the timer (<see cref="SweepOnce"/> does that first) is seen here.
    /// </summary>
    private void EnsureSweepBy(long timestamp)
    {
        // Store-load order against SweepOnce (which disarms, then enumerates): the caller's entry is in its map before
        // this read, so either that sweep's enumeration sees the entry or this read sees the timer disarmed.
        Interlocked.MemoryBarrier();
        if (SharesArmedCheck(Volatile.Read(ref _armedAt), timestamp))
        {
            return; // a sweep is due soon enough
        }

        lock (_arming)
        {
            if (SharesArmedCheck(_armedAt, timestamp) || Volatile.Read(ref _closed) != 0)
            {
                return;
            }

            // A sweep at or before the timestamp is enough: each sweep re-arms for the earliest deadline left.
            var now = _time.GetTimestamp();
            var fireAt = timestamp - now > _maxArmTicks ? now + _maxArmTicks : timestamp;
            _sweep.Change(DueIn(fireAt - now), Timeout.InfiniteTimeSpan);
            _armedAt = fireAt; // only once armed: a refused due time must not leave later deadlines unswept
        }
    }

    /// <summary>
    /// Whether a check armed at <paramref name="armedAt"/> comes no later than <see cref="RpcClientOptions.DeadlineCheckInterval"/>
    /// after <paramref name="timestamp"/>. A disarmed timer is no check to share, whatever the interval: with one as large
    /// as <see cref="TimeSpan.MaxValue"/> the sum would otherwise cover it, and no deadline would ever be enforced.
    /// </summary>
    private bool SharesArmedCheck(long armedAt, long timestamp) => armedAt != long.MaxValue && armedAt - _checkIntervalTicks <= timestamp;

    /// <summary>
    /// The timer's due time for <paramref name="ticks"/> from now, rounded up to whole milliseconds: the system timer
    /// truncates to milliseconds (a due under one fires at once) and counts on a coarse clock (it may fire up to a
    /// kernel tick early). A sweep that fires before the deadline it was armed for finds nothing and re-arms for the
    /// rest — with sub-millisecond dues that would repeat until the deadline passed; rounded up, it repeats at most
    /// until the coarse clock catches up.
    /// </summary>
    private TimeSpan DueIn(long ticks)
    {
        if (ticks <= 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromMilliseconds(Math.Ceiling(ticks * 1000.0 / _time.TimestampFrequency));
    }

    /// <summary>
    /// The timer's callback. Sweeps do not overlap: a firing that finds one running asks it to go again (an entry it
    /// arms for may have been added after the running sweep passed it by), and the runner goes again until nobody asked.
    /// </summary>
    private void Sweep()
    {
        if (Interlocked.Increment(ref _sweepRequests) != 1)
        {
            return;
        }

        try
        {
            while (true)
            {
                SweepOnce();
                if (Interlocked.Decrement(ref _sweepRequests) == 0)
                {
                    return;
                }

                // Asked again meanwhile: once more covers every request made so far (later ones see 1 and leave it to us).
                Volatile.Write(ref _sweepRequests, 1);
            }
        }
        catch
        {
            Volatile.Write(ref _sweepRequests, 0); // a failed sweep must not keep every later one out
            throw;
        }
    }

    /// <summary>Fails every call past its deadline, forgets expired answered IDs, and re-arms the timer for the earliest time left.</summary>
    private void SweepOnce()
    {
        // Disarmed first: from here on every EnsureSweepBy arms the timer itself, so an entry this pass misses (added
        // behind its enumeration) still gets a sweep.
        lock (_arming)
        {
            _armedAt = long.MaxValue;
        }

        Interlocked.MemoryBarrier(); // see EnsureSweepBy
        var now = _time.GetTimestamp();
        var next = long.MaxValue;
        foreach (var pair in _calls)
        {
            var call = pair.Value;
            var generation = call.Generation;
            var deadline = call.DeadlineTimestamp;
            if (now < deadline)
            {
                next = Math.Min(next, deadline);
            }
            else if (call.CorrelationId == pair.Key && TryFinish(call, generation))
            {
                Interlocked.Increment(ref _deadlinesExceeded);
                call.SetError(RpcErrors.DeadlineExceeded(call.Method!, call.Topic!, pair.Key, Elapsed(call), call.IsAcknowledged(generation)));
            }
        }

        AfterCallsSwept?.Invoke();
        foreach (var (id, forgetAt) in _answered)
        {
            if (now >= forgetAt)
            {
                _answered.TryRemove(id, out _);
            }
            else
            {
                next = Math.Min(next, forgetAt);
            }
        }

        if (next != long.MaxValue)
        {
            EnsureSweepBy(next);
        }
    }

    /// <summary><paramref name="span"/> in ticks of this client's <see cref="TimeProvider.GetTimestamp"/>.</summary>
    private long TimestampTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>
    /// The timestamp <paramref name="span"/> from now (now for a negative span), saturating at <see cref="long.MaxValue"/>:
    /// a deadline centuries away ("no deadline" written as <see cref="DateTimeOffset.MaxValue"/>) is far in the future,
    /// never wrapped into the past.
    /// </summary>
    public long TimestampAfter(TimeSpan span)
    {
        var now = _time.GetTimestamp();
        if (span <= TimeSpan.Zero)
        {
            return now;
        }

        var ticks = span.TotalSeconds * _time.TimestampFrequency;
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }

    private TimeSpan Elapsed(PendingCall call) => _time.GetElapsedTime(call.StartTimestamp);
}
