namespace Messaging.Groups;

/// <summary>
/// What a KIP-848 member subscribes to: topic names, or a regular expression the broker evaluates (RE2/J syntax on
/// the broker, not .NET's), and optionally the server-side assignor to use (<c>uniform</c>, <c>range</c>; null for
/// the broker's default).
/// </summary>
internal sealed record ConsumerGroupSubscription(IReadOnlyList<string>? TopicNames, string? TopicRegex, string? ServerAssignor = null)
{
    public static ConsumerGroupSubscription Topics(params string[] names) => new(names, null);

    public static ConsumerGroupSubscription Pattern(string regex) => new(null, regex);
}
