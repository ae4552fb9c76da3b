using System.Globalization;

namespace Messaging.ProtocolGen;

internal enum Kind
{
    Bool,
    Int8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    Float64,
    String,
    Uuid,
    Bytes,
    Records,
    Struct,
    Array,
}

internal sealed class TypeModel
{
    public required Kind Kind { get; init; }
    public TypeModel? Element { get; init; }
    public StructModel? Struct { get; set; }

    /// <summary>An enum the int16 is exposed as (ErrorCode, ApiKey), or null.</summary>
    public string? EnumType { get; init; }

    public int FixedSize => Kind switch
    {
        Kind.Bool or Kind.Int8 => 1,
        Kind.Int16 or Kind.UInt16 => 2,
        Kind.Int32 or Kind.UInt32 => 4,
        Kind.Int64 or Kind.Float64 => 8,
        Kind.Uuid => 16,
        _ => -1,
    };

    public string ScalarCs => Kind switch
    {
        Kind.Bool => "bool",
        Kind.Int8 => "sbyte",
        Kind.Int16 => EnumType ?? "short",
        Kind.UInt16 => "ushort",
        Kind.Int32 => "int",
        Kind.UInt32 => "uint",
        Kind.Int64 => "long",
        Kind.Float64 => "double",
        Kind.String => "string",
        Kind.Uuid => "global::System.Guid",
        Kind.Bytes or Kind.Records => "global::System.ReadOnlyMemory<byte>",
        Kind.Struct => Struct!.QualifiedName,
        Kind.Array => Element!.ScalarCs + "[]",
        _ => throw new InvalidOperationException(),
    };

    public bool IsReferenceType => Kind is Kind.String or Kind.Struct or Kind.Array;
}

internal sealed class FieldModel
{
    public required FieldSpec Spec { get; init; }
    public required TypeModel Type { get; init; }
    public required StructModel Owner { get; init; }

    public string Name => Spec.Name;

    /// <summary>"Field" at the top level, "Struct.Field" below it: the name used in error messages.</summary>
    public string ErrorName => Owner.IsTop ? Name : Owner.CsName + "." + Name;

    public MessageModel Message => Owner.Message;

    public bool IsRegular(int v) => Spec.Versions.Contains(v) && !Spec.TaggedVersions.Contains(v);

    public bool IsTagged(int v) => Spec.TaggedVersions.Contains(v) && Spec.Versions.Contains(v);

    public bool IsPresent(int v) => Spec.Versions.Contains(v);

    public bool IsNullable(int v) => Spec.NullableVersions.Contains(v);

    public bool IsFlexible(int v) =>
        Message.Spec.FlexibleVersions.Contains(v) && (Spec.FlexibleVersions is not { } fv || fv.Contains(v));

    public IEnumerable<int> SupportedVersions => Enumerable.Range(Message.Min, Message.Max - Message.Min + 1);

    public bool PresentInSupportedRange => SupportedVersions.Any(IsPresent);

    public bool NullableAny => SupportedVersions.Any(v => IsPresent(v) && IsNullable(v)) || DefaultIsNull;

    public bool DefaultIsNull => Spec.Default == "null" || (Type.Kind == Kind.Records && Spec.Default is null);

    public string CsType => Type.ScalarCs + (NullableAny ? "?" : "");

    /// <summary>The C# expression for the field's default value.</summary>
    public string DefaultExpr
    {
        get
        {
            if (DefaultIsNull)
            {
                return "null";
            }

            string? d = Spec.Default;
            switch (Type.Kind)
            {
                case Kind.Bool:
                    return d is null ? "false" : d.ToLowerInvariant();
                case Kind.Int8:
                case Kind.Int16:
                case Kind.UInt16:
                case Kind.Int32:
                case Kind.UInt32:
                case Kind.Int64:
                {
                    long value = ParseInteger(d);
                    string literal = value.ToString(CultureInfo.InvariantCulture) + (Type.Kind == Kind.Int64 ? "L" : Type.Kind == Kind.UInt32 ? "U" : "");
                    if (Type.EnumType is { } e)
                    {
                        return "(" + e + ")(" + literal + ")";
                    }

                    return Type.Kind switch
                    {
                        Kind.Int8 => "(sbyte)(" + literal + ")",
                        Kind.Int16 => "(short)(" + literal + ")",
                        Kind.UInt16 => "(ushort)(" + literal + ")",
                        _ => literal,
                    };
                }

                case Kind.Float64:
                    return (d is null ? "0" : double.Parse(d, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture)) + "d";
                case Kind.String:
                    return d is null ? "\"\"" : "\"" + d.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
                case Kind.Uuid:
                    return "global::System.Guid.Empty";
                case Kind.Bytes:
                case Kind.Records:
                    return "global::System.ReadOnlyMemory<byte>.Empty";
                case Kind.Struct:
                    return "new " + Type.Struct!.QualifiedName + "()";
                case Kind.Array:
                    return "[]";
                default:
                    throw new InvalidOperationException();
            }
        }
    }

    /// <summary>
    /// Non-nullable struct fields are allocated lazily (backing field null until first read or set), so decoding a
    /// message whose tagged struct is absent allocates nothing for it.
    /// </summary>
    public bool IsLazy => Type.Kind == Kind.Struct && !NullableAny;

    public string BackingField => "_" + char.ToLowerInvariant(Name[0]) + Name[1..];

    /// <summary>The default test for this field of the current instance, without forcing a lazy allocation.</summary>
    public string ThisIsDefault() =>
        IsLazy ? "(this." + BackingField + " is null || this." + BackingField + ".IsDefaultValue())" : IsDefaultExpr("this." + Name);

    /// <summary>A C# boolean expression that is true when <paramref name="value"/> holds the field's default.</summary>
    public string IsDefaultExpr(string value)
    {
        if (DefaultIsNull)
        {
            return value + " is null";
        }

        return Type.Kind switch
        {
            Kind.Float64 => "global::System.BitConverter.DoubleToInt64Bits(" + value + ") == global::System.BitConverter.DoubleToInt64Bits(" + DefaultExpr + ")",
            Kind.String => "(" + value + " is not null && string.Equals(" + value + ", " + DefaultExpr + ", global::System.StringComparison.Ordinal))",
            Kind.Bytes or Kind.Records => NullableAny ? value + " is { IsEmpty: true }" : value + ".IsEmpty",
            Kind.Struct => "(" + value + " is not null && " + value + ".IsDefaultValue())",
            Kind.Array => value + " is { Length: 0 }",
            _ => value + " == " + DefaultExpr,
        };
    }

    private static long ParseInteger(string? d)
    {
        if (d is null)
        {
            return 0;
        }

        d = d.Trim();
        bool negative = d.StartsWith('-');
        string digits = negative ? d[1..] : d;
        long value = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.Parse(digits[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : long.Parse(digits, CultureInfo.InvariantCulture);
        return negative ? -value : value;
    }
}

internal sealed class StructModel
{
    public required string SpecName { get; init; }
    public required string CsName { get; set; }
    public required MessageModel Message { get; init; }
    public required bool IsTop { get; init; }
    public string? About { get; init; }
    public List<FieldModel> Fields { get; } = [];

    public string QualifiedName => IsTop ? CsName : Message.ClassName + "." + CsName;
}

internal sealed class MessageModel
{
    public required MessageSpec Spec { get; init; }
    public required short Min { get; init; }
    public required short Max { get; init; }
    public required string ApiName { get; init; }

    public string ClassName => Spec.Name;

    public List<StructModel> Structs { get; } = [];

    public StructModel Top { get; set; } = null!;

    public int FirstFlexible => Spec.FlexibleVersions.IsEmpty ? -1 : Spec.FlexibleVersions.Lo;

    public static MessageModel Build(MessageSpec spec, string apiName, short min, short max)
    {
        var model = new MessageModel { Spec = spec, Min = min, Max = max, ApiName = apiName };
        var byName = new Dictionary<string, StructModel>(StringComparer.Ordinal);
        model.Top = new StructModel { SpecName = spec.Name, CsName = spec.Name, Message = model, IsTop = true };
        AddFields(model, model.Top, spec.Fields, byName);

        // Resolve names: a nested type must not clash with a member of the top-level class, with its own members,
        // with the message class or with another nested type.
        var reserved = new HashSet<string>(StringComparer.Ordinal) { "ApiKey", "MinVersion", "MaxVersion", "FirstFlexibleVersion", "IsFlexible", "Write", "Read", "IsDefaultValue", spec.Name };
        foreach (FieldModel f in model.Top.Fields)
        {
            if (f.Name is "ApiKey" or "MinVersion" or "MaxVersion" or "IsFlexible" or "Write" or "Read")
            {
                throw new InvalidOperationException(spec.Name + " has a field named " + f.Name + ", which clashes with a generated member.");
            }

            reserved.Add(f.Name);
        }

        var taken = new HashSet<string>(reserved, StringComparer.Ordinal);
        foreach (StructModel s in model.Structs)
        {
            string name = s.SpecName;
            while (taken.Contains(name) || s.Fields.Exists(f => f.Name == name))
            {
                name += "Data";
            }

            s.CsName = name;
            taken.Add(name);
        }

        return model;
    }

    private static void AddFields(MessageModel model, StructModel owner, List<FieldSpec> fields, Dictionary<string, StructModel> byName)
    {
        foreach (FieldSpec f in fields)
        {
            TypeModel type = Resolve(model, f, byName);
            var field = new FieldModel { Spec = f, Type = type, Owner = owner };
            if (!field.PresentInSupportedRange)
            {
                continue;
            }

            owner.Fields.Add(field);
        }
    }

    private static TypeModel Resolve(MessageModel model, FieldSpec f, Dictionary<string, StructModel> byName)
    {
        string t = f.ElementType;
        TypeModel? scalar = Scalar(t, f);
        if (f.IsArray)
        {
            TypeModel element = scalar ?? StructType(model, f, t, byName);
            return new TypeModel { Kind = Kind.Array, Element = element };
        }

        return scalar ?? StructType(model, f, t, byName);
    }

    private static TypeModel? Scalar(string t, FieldSpec f)
    {
        string? enumType = null;
        if (t == "int16" && !f.IsArray && (f.Name == "ErrorCode" || f.Name.EndsWith("ErrorCode", StringComparison.Ordinal)))
        {
            enumType = "global::Messaging.ErrorCode";
        }
        else if (t == "int16" && !f.IsArray && f.Name == "ApiKey")
        {
            enumType = "global::Messaging.ApiKey";
        }

        Kind? kind = t switch
        {
            "bool" => Kind.Bool,
            "int8" => Kind.Int8,
            "int16" => Kind.Int16,
            "uint16" => Kind.UInt16,
            "int32" => Kind.Int32,
            "uint32" => Kind.UInt32,
            "int64" => Kind.Int64,
            "float64" => Kind.Float64,
            "string" => Kind.String,
            "uuid" => Kind.Uuid,
            "bytes" => Kind.Bytes,
            "records" => Kind.Records,
            _ => null,
        };
        return kind is { } k ? new TypeModel { Kind = k, EnumType = enumType } : null;
    }

    private static TypeModel StructType(MessageModel model, FieldSpec f, string name, Dictionary<string, StructModel> byName)
    {
        if (byName.TryGetValue(name, out StructModel? existing))
        {
            return new TypeModel { Kind = Kind.Struct, Struct = existing };
        }

        List<FieldSpec> fields = f.Fields
            ?? (model.Spec.CommonStructs.TryGetValue(name, out List<FieldSpec>? common) ? common : null)
            ?? throw new InvalidOperationException("Unknown type " + name + " for field " + f.Name + " in " + model.Spec.Name);
        var s = new StructModel { SpecName = name, CsName = name, Message = model, IsTop = false, About = f.About };
        byName[name] = s;
        model.Structs.Add(s);
        AddFields(model, s, fields, byName);
        return new TypeModel { Kind = Kind.Struct, Struct = s };
    }
}
