namespace Messaging.IntegrationTests.Packaging;

/// <summary>The packaging tests build from the repository's outputs; one at a time, so two builds never share an obj folder.</summary>
[CollectionDefinition(Name)]
public sealed class PackagingCollection
{
    public const string Name = "Packaging";
}
