using Microsoft.Extensions.Options;

namespace Messaging.Hosting;

/// <summary>A hosted consumer's <see cref="KafkaConsumerOptions"/> must name its group (the client itself allows none, for manual assignment).</summary>
internal sealed class HostedConsumerGroupValidator(string registeredName, string? sectionPath) : IValidateOptions<KafkaConsumerOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaConsumerOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, registeredName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        if (!string.IsNullOrWhiteSpace(options.GroupId))
        {
            return ValidateOptionsResult.Success;
        }

        var key = sectionPath is { Length: > 0 } ? sectionPath + ":" + nameof(options.GroupId) : nameof(options.GroupId);
        return ValidateOptionsResult.Fail(nameof(KafkaConsumerOptions) + " " + key + ": a hosted consumer needs a consumer group id");
    }
}
