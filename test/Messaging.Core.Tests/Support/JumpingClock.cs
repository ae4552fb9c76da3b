using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Support;

/// <summary>
/// A fake clock that jumps once by a set amount, the first time one of its timers is given a due time, just before
/// the timer takes it: another thread advancing a test's clock at the worst moment for code that read the time and
/// then arms a timer for what is left.
/// </summary>
internal sealed class JumpingClock : TimeProvider
{
    private readonly FakeTimeProvider _time;
    private readonly TimeSpan _jump;

    public JumpingClock(FakeTimeProvider time, TimeSpan jump)
    {
        _time = time;
        _jump = jump;
    }

    public bool Jumped { get; private set; }

    public override long TimestampFrequency => _time.TimestampFrequency;

    public override long GetTimestamp() => _time.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => _time.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            JumpOnce();
        }

        return new JumpingTimer(this, _time.CreateTimer(callback, state, dueTime, period));
    }

    private void JumpOnce()
    {
        if (!Jumped)
        {
            Jumped = true;
            _time.Advance(_jump);
        }
    }

    private sealed class JumpingTimer(JumpingClock owner, ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                owner.JumpOnce();
            }

            return inner.Change(dueTime, period);
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
