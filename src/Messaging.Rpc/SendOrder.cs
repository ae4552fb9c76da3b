namespace Messaging.Rpc;

/// <summary>
/// Keeps the requests of calls made one after another in the order the calls were made, as records produced one
/// after another keep theirs — also when the first of them have to wait before they can send (for the client's
/// start, the request topic's first lookup, or room in the client's bounds) and later ones could go at once. A server
/// that runs the requests of one key in order relies on it.
/// </summary>
/// <remarks>
/// <para>A call that has to wait takes a <see cref="Turn"/> before it first yields to its caller, and so does every
/// call made while any turn is taken: they queue in call order and each sends only when it is first in the queue (its
/// waits over), then gives the turn to the next. Nothing here runs per call in the steady state: a call that need not
/// wait reads <see cref="IsEmpty"/> and goes on. A turn is an object made only when a call has to wait.</para>
/// <para>A call in the queue holds nothing the call before it needs: it asks for room in the client's bounds only once it
/// is first, so a call waiting for room is never held up by a later call that took room first.</para>
/// <para>The order is the client's, across topics (like the budget's first-come-first-served room): a call waiting for
/// one topic's first lookup holds up calls made after it to other topics for that one round trip too.</para>
/// </remarks>
internal sealed class SendOrder
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Turn> _queue = new(); // under _lock
    private int _count;
    private bool _closed; // under _lock

    /// <summary>True when no call waits for its turn: a call that can send at once does so.</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    /// <summary>Calls in line (for tests and diagnostics).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Takes a turn behind every call that took one before (first in line: it may go as soon as its own waits are over).</summary>
    public Turn Enter()
    {
        var turn = new Turn();
        lock (_lock)
        {
            if (_closed)
            {
                turn.Fail();
                return turn;
            }

            turn.Node = _queue.AddLast(turn);
            _count++;
            if (_queue.First == turn.Node)
            {
                turn.Grant();
            }
        }

        return turn;
    }

    /// <summary>
    /// Gives up <paramref name="turn"/>, sent or failed: the next call in line may send. Idempotent. A turn given up
    /// before it came (the call failed while it waited) leaves the line without holding anybody up.
    /// </summary>
    public void Leave(Turn turn)
    {
        Turn? next = null;
        lock (_lock)
        {
            if (turn.Node?.List is null)
            {
                return;
            }

            var wasFirst = _queue.First == turn.Node;
            _queue.Remove(turn.Node);
            turn.Node = null;
            _count--;
            if (wasFirst && _queue.First is { } first)
            {
                next = first.Value;
            }
        }

        // Outside the lock: the next call's continuation runs on the thread pool (the turn's source runs continuations asynchronously).
        next?.Grant();
    }

    /// <summary>Ends every waiting turn and every later one as <see cref="Turn.Closed"/> (the client's disposal).</summary>
    public void Close()
    {
        List<Turn> waiting;
        lock (_lock)
        {
            _closed = true;
            waiting = new List<Turn>(_queue);
            _queue.Clear();
            _count = 0;
            foreach (var turn in waiting)
            {
                turn.Node = null;
            }
        }

        foreach (var turn in waiting)
        {
            turn.Fail();
        }
    }

    /// <summary>A call's place in line; <see cref="Reached"/> completes when the call is first, or when the client is disposed (<see cref="Closed"/>).</summary>
    internal sealed class Turn
    {
        // Completed, never faulted: a call that gave up waiting leaves no unobserved exception behind.
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _closed;

        /// <summary>The turn's node in the queue while it is queued (under the queue's lock).</summary>
        public LinkedListNode<Turn>? Node { get; set; }

        /// <summary>Completes when the call is first in line.</summary>
        public Task Reached => _reached.Task;

        public void Grant() => _reached.TrySetResult();

        /// <summary>The client was disposed: the call must not send.</summary>
        public bool Closed => _closed;

        public void Fail()
        {
            _closed = true;
            _reached.TrySetResult();
        }
    }
}
