using System.Globalization;
using System.Text.Json;

namespace Messaging.ProtocolGen;

/// <summary>An inclusive version range; empty when <see cref="Lo"/> &gt; <see cref="Hi"/>.</summary>
internal readonly record struct VersionRange(short Lo, short Hi)
{
    public static readonly VersionRange None = new(1, 0);

    public bool IsEmpty => Lo > Hi;

    public bool Contains(int version) => version >= Lo && version <= Hi;

    public VersionRange Intersect(VersionRange other) =>
        IsEmpty || other.IsEmpty ? None : new VersionRange(Math.Max(Lo, other.Lo), Math.Min(Hi, other.Hi));

    public static VersionRange Parse(string? text)
    {
        if (text is null)
        {
            return None;
        }

        text = text.Trim();
        if (text.Length == 0 || text == "none")
        {
            return None;
        }

        if (text.EndsWith('+'))
        {
            return new VersionRange(short.Parse(text.AsSpan(0, text.Length - 1), CultureInfo.InvariantCulture), short.MaxValue);
        }

        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            return new VersionRange(
                short.Parse(text.AsSpan(0, dash), CultureInfo.InvariantCulture),
                short.Parse(text.AsSpan(dash + 1), CultureInfo.InvariantCulture));
        }

        short v = short.Parse(text, CultureInfo.InvariantCulture);
        return new VersionRange(v, v);
    }

    public override string ToString() =>
        IsEmpty ? "none" : Hi == short.MaxValue ? Lo + "+" : Lo == Hi ? Lo.ToString(CultureInfo.InvariantCulture) : Lo + "-" + Hi;
}

internal sealed class FieldSpec
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public required VersionRange Versions { get; init; }
    public required VersionRange NullableVersions { get; init; }
    public required VersionRange TaggedVersions { get; init; }
    public int? Tag { get; init; }
    public string? Default { get; init; }
    public bool Ignorable { get; init; }
    public VersionRange? FlexibleVersions { get; init; }
    public string? About { get; init; }
    public List<FieldSpec>? Fields { get; init; }

    public bool IsArray => Type.StartsWith("[]", StringComparison.Ordinal);

    public string ElementType => IsArray ? Type[2..] : Type;
}

internal sealed class MessageSpec
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public required short ApiKey { get; init; }
    public required VersionRange ValidVersions { get; init; }
    public required VersionRange FlexibleVersions { get; init; }
    public required List<FieldSpec> Fields { get; init; }
    public required Dictionary<string, List<FieldSpec>> CommonStructs { get; init; }
}

internal static class SchemaParser
{
    private static readonly JsonDocumentOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static MessageSpec Load(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path), Options);
        JsonElement root = doc.RootElement;
        var common = new Dictionary<string, List<FieldSpec>>(StringComparer.Ordinal);
        if (root.TryGetProperty("commonStructs", out JsonElement structs))
        {
            foreach (JsonElement s in structs.EnumerateArray())
            {
                common[s.GetProperty("name").GetString()!] = ParseFields(s.GetProperty("fields"));
            }
        }

        return new MessageSpec
        {
            Name = root.GetProperty("name").GetString()!,
            Kind = root.GetProperty("type").GetString()!,
            ApiKey = root.TryGetProperty("apiKey", out JsonElement key) ? key.GetInt16() : (short)-1,
            ValidVersions = VersionRange.Parse(root.GetProperty("validVersions").GetString()),
            FlexibleVersions = VersionRange.Parse(root.GetProperty("flexibleVersions").GetString()),
            Fields = ParseFields(root.GetProperty("fields")),
            CommonStructs = common,
        };
    }

    private static List<FieldSpec> ParseFields(JsonElement array)
    {
        var list = new List<FieldSpec>();
        foreach (JsonElement f in array.EnumerateArray())
        {
            list.Add(new FieldSpec
            {
                // A few schemas spell fields in lower camel case (CreateTopics' timeoutMs, validateOnly): C# properties are PascalCase.
                Name = PascalCase(f.GetProperty("name").GetString()!),
                Type = f.GetProperty("type").GetString()!,
                Versions = VersionRange.Parse(Str(f, "versions")),
                NullableVersions = VersionRange.Parse(Str(f, "nullableVersions")),
                TaggedVersions = VersionRange.Parse(Str(f, "taggedVersions")),
                Tag = f.TryGetProperty("tag", out JsonElement tag) ? tag.GetInt32() : null,
                Default = f.TryGetProperty("default", out JsonElement d)
                    ? d.ValueKind == JsonValueKind.String ? d.GetString() : d.GetRawText()
                    : null,
                Ignorable = f.TryGetProperty("ignorable", out JsonElement ig) && ig.GetBoolean(),
                FlexibleVersions = Str(f, "flexibleVersions") is { } fv ? VersionRange.Parse(fv) : null,
                About = Str(f, "about"),
                Fields = f.TryGetProperty("fields", out JsonElement sub) ? ParseFields(sub) : null,
            });
        }

        return list;
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) ? v.GetString() : null;

    private static string PascalCase(string name) =>
        name.Length > 0 && char.IsLower(name[0]) ? char.ToUpperInvariant(name[0]) + name[1..] : name;
}
