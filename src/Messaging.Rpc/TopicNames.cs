using System.Buffers;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// The topic names Kafka takes: 1 to 249 ASCII letters, digits, '.', '_' and '-', and neither "." nor "..". The broker
/// refuses any other name every time (INVALID_TOPIC_EXCEPTION): options refuse it when checked, and a server does not
/// reply to it.
/// </summary>
internal static class TopicNames
{
    /// <summary>The longest topic name Kafka takes.</summary>
    public const int MaxLength = 249;

    private const string Legal = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

    private static readonly SearchValues<char> LegalChars = SearchValues.Create(Legal);
    private static readonly SearchValues<byte> LegalBytes = SearchValues.Create(Encoding.ASCII.GetBytes(Legal));

    /// <summary>Whether Kafka takes the name in <paramref name="utf8"/> (its UTF-8 bytes) as a topic name.</summary>
    public static bool IsLegal(ReadOnlySpan<byte> utf8) =>
        !utf8.IsEmpty && utf8.Length <= MaxLength && !utf8.SequenceEqual("."u8) && !utf8.SequenceEqual(".."u8) && !utf8.ContainsAnyExcept(LegalBytes);

    /// <summary>Why Kafka refuses <paramref name="name"/> as a topic name, or null when it takes it.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0)
        {
            return "it is empty";
        }

        if (name is "." or "..")
        {
            return "'.' and '..' are not allowed";
        }

        if (name.Length > MaxLength)
        {
            return "it has " + name.Length + " characters, more than " + MaxLength;
        }

        var illegal = name.AsSpan().IndexOfAnyExcept(LegalChars);
        return illegal < 0 ? null : "'" + name[illegal] + "' is not allowed (only ASCII letters, digits, '.', '_' and '-')";
    }
}
