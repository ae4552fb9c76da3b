namespace Messaging.Records;

/// <summary>Which of a record's key and value are null (as opposed to empty) when appending to a <see cref="RecordBatchBuilder"/>.</summary>
[Flags]
internal enum RecordNulls
{
    /// <summary>Key and value are the spans given.</summary>
    None = 0,

    /// <summary>The key is null (length -1 on the wire); the key span is ignored.</summary>
    Key = 1,

    /// <summary>The value is null (length -1 on the wire, a tombstone); the value span is ignored.</summary>
    Value = 2,
}
