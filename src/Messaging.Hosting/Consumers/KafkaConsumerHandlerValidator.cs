using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Messaging.Hosting;

/// <summary>
/// Validates a hosted consumer's settings when the host starts (<c>ValidateOnStart</c>): every wrong value is reported
/// with its configuration key and what is allowed, as the clients' own validation does — including what the settings
/// need from the container (a producer for dead letters, deserializers for the key and value types).
/// </summary>
internal sealed class KafkaConsumerHandlerValidator<TKey, TValue>(string registeredName, string? sectionPath, IServiceProviderIsService services)
    : IValidateOptions<KafkaConsumerHandlerOptions>
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(int.MaxValue);

    public ValidateOptionsResult Validate(string? name, KafkaConsumerHandlerOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, registeredName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>();
        if (options.Topics.Count == 0)
        {
            failures.Add(Message(nameof(options.Topics), "at least one topic is required"));
        }

        foreach (var topic in options.Topics)
        {
            if (string.IsNullOrWhiteSpace(topic))
            {
                failures.Add(Message(nameof(options.Topics), "a topic name must not be empty"));
            }
        }

        Range(failures, nameof(options.MaxConcurrency), options.MaxConcurrency, 1, 1024);
        Range(failures, nameof(options.PartitionBufferSize), options.PartitionBufferSize, 1, 100_000);
        Range(failures, nameof(options.MaxAttempts), options.MaxAttempts, 1, 100);
        // The waits go to timers (Task.Delay, WaitAsync, CancellationTokenSource), which refuse more than about 49 days
        // with ArgumentOutOfRangeException: checked here, or it surfaces only at a retry, a rebalance or the stop.
        if (options.RetryBackoff < TimeSpan.Zero || options.RetryBackoff > MaxWait)
        {
            failures.Add(Message(nameof(options.RetryBackoff), "must be between 0 and " + MaxWait + " (int.MaxValue ms)"));
        }

        if (options.MaxRetryBackoff < options.RetryBackoff)
        {
            failures.Add(Message(nameof(options.MaxRetryBackoff), "must be at least RetryBackoff (" + options.RetryBackoff + ")"));
        }
        else if (options.MaxRetryBackoff > MaxWait)
        {
            failures.Add(Message(nameof(options.MaxRetryBackoff), "must be at most " + MaxWait + " (int.MaxValue ms)"));
        }

        if (options.DrainTimeout <= TimeSpan.Zero || options.DrainTimeout > MaxWait)
        {
            failures.Add(Message(nameof(options.DrainTimeout), "must be positive and at most " + MaxWait + " (int.MaxValue ms)"));
        }

        if (options.DeadLetterTopic is { } deadLetters)
        {
            if (string.IsNullOrWhiteSpace(deadLetters))
            {
                failures.Add(Message(nameof(options.DeadLetterTopic), "must not be empty (leave it out for no dead letters)"));
            }
            else if (options.Topics.Contains(deadLetters))
            {
                failures.Add(Message(nameof(options.DeadLetterTopic), "must not be one of the consumed topics"));
            }

            if (!HasProducer(options.DeadLetterProducerKey))
            {
                failures.Add(options.DeadLetterProducerKey is { } key
                    ? Message(nameof(options.DeadLetterProducerKey), "no producer is registered under key '" + key + "' (AddKafkaProducer(..., serviceKey: \"" + key + "\")) to write dead letters")
                    : Message(nameof(options.DeadLetterTopic), "dead letters need a producer: register one with AddKafkaProducer (or name a keyed one in DeadLetterProducerKey)"));
            }
        }

        if (!DefaultDeserializers.Exists<TKey>(services))
        {
            failures.Add(Message(null, "no deserializer for the key type " + typeof(TKey).Name + ": register an IDeserializer<" + typeof(TKey).Name + ">"));
        }

        if (!DefaultDeserializers.Exists<TValue>(services))
        {
            failures.Add(Message(null, "no deserializer for the value type " + typeof(TValue).Name + ": register an IDeserializer<" + typeof(TValue).Name + ">"));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private bool HasProducer(string? key) => key is null
        ? services.IsService(typeof(IKafkaProducer))
        : services is IServiceProviderIsKeyedService keyed && keyed.IsKeyedService(typeof(IKafkaProducer), key);

    private void Range(List<string> failures, string property, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add(Message(property, FormattableString.Invariant($"must be between {min} and {max} (was {value})")));
        }
    }

    private string Message(string? property, string text)
    {
        var key = property is null ? sectionPath ?? registeredName
            : sectionPath is { Length: > 0 } ? sectionPath + ":" + property : property;
        return nameof(KafkaConsumerHandlerOptions) + " " + key + ": " + text;
    }
}
