namespace Messaging;

/// <summary>Settings of a <see cref="KafkaAdminClient"/>: the shared client settings, plus how long an admin call may take.</summary>
public sealed class KafkaAdminOptions : KafkaClientOptions
{
    /// <summary><c>default.api.timeout.ms</c>: how long one admin call may take, retries included. Default 60 s.</summary>
    public TimeSpan DefaultApiTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>retry.backoff.ms</c>: the wait before retrying a call that failed with a retriable error. A retry whose wait
    /// would end past <see cref="DefaultApiTimeout"/> is not made: the call fails with its last error, by its timeout
    /// (so <see cref="TimeSpan.MaxValue"/> means no retries). Default 100 ms.
    /// </summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A copy of these settings: later changes to either object do not reach the other. Shallow: the objects the
    /// settings hold (<see cref="KafkaClientOptions.Ssl"/>, <see cref="KafkaClientOptions.Sasl"/>, the logger factory)
    /// are shared.
    /// </summary>
    public KafkaAdminOptions Clone() => (KafkaAdminOptions)MemberwiseClone();

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (DefaultApiTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("DefaultApiTimeout (default.api.timeout.ms) must be positive.", nameof(DefaultApiTimeout));
        }

        if (RetryBackoff <= TimeSpan.Zero)
        {
            throw new ArgumentException("RetryBackoff (retry.backoff.ms) must be positive.", nameof(RetryBackoff));
        }
    }
}
