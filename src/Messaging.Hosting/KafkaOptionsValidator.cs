using Microsoft.Extensions.Options;

namespace Messaging.Hosting;

/// <summary>
/// Runs a client's own <see cref="KafkaClientOptions.Validate"/> as an options validator, so a wrong setting fails
/// the host at start (<c>ValidateOnStart</c>) with a message that names the configuration key, not at the first
/// produce. The client's message already says what is allowed ("must be between 1 and 1024").
/// </summary>
internal sealed class KafkaOptionsValidator<TOptions>(string registeredName, string? sectionPath) : IValidateOptions<TOptions>
    where TOptions : KafkaClientOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, registeredName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            var key = e.ParamName is { Length: > 0 } property
                ? (sectionPath is { Length: > 0 } ? sectionPath + ":" + property : property)
                : sectionPath ?? typeof(TOptions).Name;
            // ArgumentException appends " (Parameter 'x')" to Message; the key already says which.
            var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            return ValidateOptionsResult.Fail($"{typeof(TOptions).Name} {key}: {message}");
        }
    }
}
