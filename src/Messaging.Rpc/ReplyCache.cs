namespace Messaging.Rpc;

/// <summary>A reply as the cache keeps it: the status, the error message, the content type and a copy of the payload.</summary>
internal sealed record CachedReply(RpcStatus Status, string? ErrorMessage, byte[] ContentType, byte[] Payload);

/// <summary>
/// The server's memory of answered requests by correlation ID (<see cref="RpcReplyCacheOptions"/>): the first request
/// with an ID runs; a duplicate that arrives while it runs waits for its reply; one that arrives later gets the stored
/// reply. Entries are dropped oldest first when over the entry or byte bound, and when older than the maximum age; a
/// reply over the byte bound on its own is not kept (nor does it evict the others).
/// </summary>
/// <remarks>
/// One lock guards the map and the age-ordered list; it is taken per request (twice: look up, complete), never per
/// record of a batch, and nothing slow runs under it. A running entry is never evicted (its waiters depend on it); only
/// completed ones count against the bounds. Once <see cref="Release"/>d (the server's disposal) it keeps nothing more.
/// </remarks>
internal sealed class ReplyCache
{
    private readonly RpcReplyCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, Entry> _entries = [];
    private readonly LinkedList<Entry> _completed = []; // oldest first
    private long _bytes;
    private long _hits;
    private bool _released; // under _lock

    public ReplyCache(RpcReplyCacheOptions options, TimeProvider time)
    {
        options.Validate();
        _options = options;
        _time = time;
    }

    /// <summary>Requests answered from the cache (stored or awaited reply).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Entries kept (running and completed).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The payload bytes kept.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>
    /// Looks a request up. <see cref="CacheLookup.Run"/>: the caller runs the handler and must call
    /// <see cref="Complete"/> or <see cref="Abandon"/>; otherwise the reply (stored, or awaited from the running
    /// request) is in <see cref="CacheLookup.Reply"/>. After <see cref="Release"/> every request runs and nothing is
    /// kept (its Complete or Abandon finds no entry).
    /// </summary>
    public CacheLookup Begin(Guid correlationId)
    {
        lock (_lock)
        {
            if (_released)
            {
                // A request that starts after the server's disposal (it sat in a thread-pool run behind a handler that
                // blocked its thread past the drain and the grace): an entry made now would hold its reply's bytes in
                // the disposed server for good, as nothing releases the cache again.
                return new CacheLookup(true, null);
            }

            var now = _time.GetUtcNow();
            DropExpired(now);
            if (_entries.TryGetValue(correlationId, out var entry))
            {
                Interlocked.Increment(ref _hits);
                return entry.Reply is { } stored ? new CacheLookup(false, Task.FromResult<CachedReply?>(stored)) : new CacheLookup(false, entry.Waiters.Task);
            }

            _entries[correlationId] = new Entry(correlationId);
            return new CacheLookup(true, null);
        }
    }

    /// <summary>The request's reply was sent: keep it, and hand it to duplicates that waited.</summary>
    public void Complete(Guid correlationId, CachedReply reply)
    {
        Entry? entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(correlationId, out entry) || entry.Reply is not null)
            {
                return;
            }

            if (reply.Payload.Length > _options.MaxBytes)
            {
                // Over the byte bound on its own: it could never be kept, and trimming for it would drop every other
                // stored reply first (their duplicates would run again) before dropping it too. Its waiters still get it.
                _entries.Remove(correlationId);
            }
            else
            {
                entry.Reply = reply;
                entry.CompletedAt = _time.GetUtcNow();
                entry.Node = _completed.AddLast(entry);
                _bytes += reply.Payload.Length;
                Trim();
            }
        }

        entry.Waiters.TrySetResult(reply);
    }

    /// <summary>The request ended without a reply (shutdown, or the server chose not to answer): forget it; duplicates that waited run themselves.</summary>
    public void Abandon(Guid correlationId)
    {
        Entry? entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(correlationId, out entry) || entry.Reply is not null)
            {
                return;
            }

            _entries.Remove(correlationId);
        }

        entry.Waiters.TrySetResult(null);
    }

    /// <summary>
    /// Drops everything, for good (the server's disposal): duplicates still waiting get no reply (null), requests still
    /// running complete into nothing, and requests that start later run without an entry.
    /// </summary>
    public void Release()
    {
        List<Entry> running = [];
        lock (_lock)
        {
            _released = true;
            foreach (var entry in _entries.Values)
            {
                if (entry.Reply is null)
                {
                    running.Add(entry);
                }
            }

            _entries.Clear();
            _completed.Clear();
            _bytes = 0;
        }

        foreach (var entry in running)
        {
            entry.Waiters.TrySetResult(null);
        }
    }

    private void DropExpired(DateTimeOffset now)
    {
        while (_completed.First is { } oldest && now - oldest.Value.CompletedAt >= _options.MaxAge)
        {
            Remove(oldest.Value);
        }
    }

    private void Trim()
    {
        while (_completed.First is { } oldest && (_completed.Count > _options.MaxEntries || _bytes > _options.MaxBytes))
        {
            Remove(oldest.Value);
        }
    }

    private void Remove(Entry entry)
    {
        _completed.Remove(entry.Node!);
        _entries.Remove(entry.CorrelationId);
        _bytes -= entry.Reply!.Payload.Length;
    }

    private sealed class Entry(Guid correlationId)
    {
        public Guid CorrelationId { get; } = correlationId;

        /// <summary>Completed with the reply (or null when the first request was abandoned) for duplicates that wait.</summary>
        public TaskCompletionSource<CachedReply?> Waiters { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CachedReply? Reply { get; set; }

        public DateTimeOffset CompletedAt { get; set; }

        public LinkedListNode<Entry>? Node { get; set; }
    }
}

/// <summary>What <see cref="ReplyCache.Begin"/> found.</summary>
/// <param name="Run">True: run the handler (and complete or abandon the entry).</param>
/// <param name="Reply">Otherwise: the stored reply, or the running request's (null if it was abandoned).</param>
internal readonly record struct CacheLookup(bool Run, Task<CachedReply?>? Reply);
