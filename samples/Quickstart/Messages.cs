namespace Messaging.Samples.Quickstart;

/// <summary>Add's request.</summary>
public sealed record AddRequest(int A, int B);

/// <summary>Add's reply.</summary>
public sealed record AddReply(int Sum);

/// <summary>Greet's request.</summary>
public sealed record GreetRequest(string Name);

/// <summary>Greet's reply.</summary>
public sealed record GreetReply(string Text);
