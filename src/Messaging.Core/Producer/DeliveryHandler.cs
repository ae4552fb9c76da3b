namespace Messaging;

/// <summary>
/// Receives the outcome of one record produced with <see cref="KafkaProducer.Produce(string, ReadOnlySpan{byte}, ReadOnlySpan{byte}, DeliveryHandler?, object?)"/>:
/// either <paramref name="error"/> is null and <paramref name="result"/> says where the record landed, or
/// <paramref name="error"/> says why it failed (<paramref name="result"/> then carries the topic and, if one was
/// chosen, the partition).
/// </summary>
/// <remarks>
/// Pass a cached delegate (a static method group or a field) and per-record data through <paramref name="state"/>:
/// no closure is then allocated per record. Handlers run on the producer's I/O threads, in offset order per
/// partition; they must be quick and must not block (hand slow work to another thread) — in particular they must
/// not produce synchronously: when <c>buffer.memory</c> is full that call would wait for memory that only the
/// blocked I/O thread can free. An exception thrown by a handler is logged and otherwise ignored.
/// </remarks>
/// <param name="result">Where the record landed.</param>
/// <param name="error">Why it failed, or null when it was delivered.</param>
/// <param name="state">The state passed with the record.</param>
public delegate void DeliveryHandler(in DeliveryResult result, ProduceException? error, object? state);

/// <summary>
/// Receives the outcome of one record, with state of any type — a value type is passed through without boxing
/// (the producer keeps handler and state in a pooled holder, so producing this way allocates nothing once warm).
/// Same rules as <see cref="DeliveryHandler"/>: runs on an I/O thread, quick, never producing synchronously.
/// </summary>
/// <typeparam name="TState">The state's type.</typeparam>
/// <param name="result">Where the record landed.</param>
/// <param name="error">Why it failed, or null when it was delivered.</param>
/// <param name="state">The state passed with the record.</param>
public delegate void DeliveryHandler<in TState>(in DeliveryResult result, ProduceException? error, TState state);
