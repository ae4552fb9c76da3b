using System.Text;

namespace Messaging.ProtocolGen;

internal sealed class CodeWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;
    private int _counter;

    public void Line(string text = "")
    {
        if (text.Length == 0)
        {
            _sb.Append('\n');
            return;
        }

        _sb.Append(' ', _indent * 4).Append(text).Append('\n');
    }

    public void Open(string? header = null)
    {
        if (header is not null)
        {
            Line(header);
        }

        Line("{");
        _indent++;
    }

    public void Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
    }

    public string Fresh(string prefix) => prefix + (++_counter).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void ResetCounter() => _counter = 0;

    public override string ToString() => _sb.ToString();

    public static string Xml(string? text) =>
        (text ?? string.Empty).Replace("&", "&amp;", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>
    /// A C# condition that holds exactly for the given versions, within [min, max]; "true" for all, "false" for none.
    /// </summary>
    public static string Condition(IReadOnlyList<int> versions, int min, int max, string variable = "version")
    {
        if (versions.Count == 0)
        {
            return "false";
        }

        if (versions.Count == max - min + 1)
        {
            return "true";
        }

        var parts = new List<string>();
        int i = 0;
        while (i < versions.Count)
        {
            int lo = versions[i];
            int hi = lo;
            while (i + 1 < versions.Count && versions[i + 1] == hi + 1)
            {
                i++;
                hi = versions[i];
            }

            i++;
            if (lo == hi)
            {
                parts.Add(variable + " == " + lo);
            }
            else if (lo == min)
            {
                parts.Add(variable + " <= " + hi);
            }
            else if (hi == max)
            {
                parts.Add(variable + " >= " + lo);
            }
            else
            {
                parts.Add("(" + variable + " >= " + lo + " && " + variable + " <= " + hi + ")");
            }
        }

        return parts.Count == 1 ? parts[0] : "(" + string.Join(" || ", parts) + ")";
    }
}
