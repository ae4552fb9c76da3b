using System.Buffers;
using System.Text;

namespace Messaging;

/// <summary>
/// The topic names Kafka takes: 1 to 249 ASCII letters, digits, '.', '_' and '-', and neither "." nor "..". A broker
/// refuses any other name every time (INVALID_TOPIC_EXCEPTION), so checking a name before it travels turns a broker
/// round trip that can never succeed into an error that says why.
/// </summary>
/// <remarks>
/// Kafka also refuses to create a topic whose name differs from an existing one only by '.' against '_' (the two
/// collide in metric names); that needs the cluster's topics and is left to the broker.
/// </remarks>
public static class TopicNames
{
    /// <summary>The longest topic name Kafka takes.</summary>
    public const int MaxLength = 249;

    private const string Legal = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

    private static readonly SearchValues<char> LegalChars = SearchValues.Create(Legal);
    private static readonly SearchValues<byte> LegalBytes = SearchValues.Create(Encoding.ASCII.GetBytes(Legal));

    /// <summary>Whether Kafka takes the name in <paramref name="utf8"/> (its UTF-8 bytes) as a topic name.</summary>
    /// <param name="utf8">The name's UTF-8 bytes (as a request header or a record carries it).</param>
    /// <returns>True for a legal name.</returns>
    public static bool IsLegal(ReadOnlySpan<byte> utf8) =>
        !utf8.IsEmpty && utf8.Length <= MaxLength && !utf8.SequenceEqual("."u8) && !utf8.SequenceEqual(".."u8) && !utf8.ContainsAnyExcept(LegalBytes);

    /// <summary>Why Kafka refuses <paramref name="name"/> as a topic name, or null when it takes it.</summary>
    /// <param name="name">The topic name.</param>
    /// <returns>A short reason ("it is empty", "'/' is not allowed (...)"), or null for a legal name.</returns>
    public static string? Problem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
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
