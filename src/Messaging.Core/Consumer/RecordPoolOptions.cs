namespace Messaging.Pools;

/// <summary>The knobs of the record-object pool (<see cref="RecordPool"/>). Bindable from <c>IConfiguration</c>.</summary>
public sealed class RecordPoolOptions
{
    /// <summary>Whether the pool keeps anything at all. False allocates every record object and drops every return. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The most record objects kept for reuse. Default 65,536 (about 7 MB).</summary>
    public int MaxRetained { get; set; } = 65_536;

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the first that is wrong.</summary>
    /// <param name="name">How errors name this pool.</param>
    public void Validate(string name)
    {
        if (MaxRetained < 0)
        {
            throw new ArgumentException(name + ".MaxRetained must not be negative.");
        }
    }

    /// <summary>A copy.</summary>
    /// <returns>The copy.</returns>
    public RecordPoolOptions Clone() => (RecordPoolOptions)MemberwiseClone();
}
