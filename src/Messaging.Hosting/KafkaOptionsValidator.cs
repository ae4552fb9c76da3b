using Microsoft.Extensions.Options;

namespace Messaging.Hosting;

/// <summary>
/// Runs a client's own validation (<see cref="KafkaClientOptions.Validate"/>, <c>RpcClientOptions.Validate</c>) as an
/// options validator, so a wrong setting fails the host at start (<c>ValidateOnStart</c>) with a message that names
/// the configuration key, not at the first produce. The client's message already says what is allowed ("must be
/// between 1 and 1024"); a nested setting's name is a path (<c>Pools.BlockSize</c>), which becomes the key
/// <c>Section:Pools:BlockSize</c>.
/// </summary>
internal sealed class KafkaOptionsValidator<TOptions>(string registeredName, string? sectionPath, Action<TOptions> validate) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, registeredName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        try
        {
            validate(options);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(Describe(e, sectionPath));
        }
    }

    /// <summary>
    /// The message of a failed setting: the options type, the configuration key (<c>Section:Pools:BlockSize</c>) and
    /// what is allowed. Also used for the errors a client's constructor raises when it validates at creation;
    /// <paramref name="settingPath"/> then names the setting when the error's parameter name lacks its path.
    /// </summary>
    public static string Describe(ArgumentException e, string? sectionPath, string? settingPath = null)
    {
        var key = (settingPath ?? e.ParamName) is { Length: > 0 } paramName && paramName.Replace('.', ':') is var property
            ? (sectionPath is { Length: > 0 } ? sectionPath + ":" + property : property)
            : sectionPath ?? typeof(TOptions).Name;
        // ArgumentException appends " (Parameter 'x')" to Message; the key already says which.
        var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
        return $"{typeof(TOptions).Name} {key}: {message}";
    }
}
