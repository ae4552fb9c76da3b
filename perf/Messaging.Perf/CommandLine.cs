using System.Globalization;

namespace Messaging.Perf;

/// <summary><c>--name value</c> and <c>--flag</c> options, typed on read, with unknown options reported.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public CommandLine(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException("Unexpected argument '" + args[i] + "': options look like --name value.");
            }

            var name = args[i][2..];
            var hasValue = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            _values[name] = hasValue ? args[++i] : null;
        }
    }

    public string String(string name, string defaultValue) => Get(name) ?? defaultValue;

    public string? OptionalString(string name) => Get(name);

    public int Int(string name, int defaultValue) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : defaultValue;

    public long Long(string name, long defaultValue) => Get(name) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : defaultValue;

    public bool Flag(string name)
    {
        _read.Add(name);
        return _values.ContainsKey(name);
    }

    /// <summary>Throws naming every option that no one asked for (a typo, usually).</summary>
    public void EnsureAllRead()
    {
        foreach (var name in _values.Keys)
        {
            if (!_read.Contains(name))
            {
                throw new ArgumentException("Unknown option --" + name + ".");
            }
        }
    }

    private string? Get(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var value) ? value ?? throw new ArgumentException("--" + name + " needs a value.") : null;
    }
}
