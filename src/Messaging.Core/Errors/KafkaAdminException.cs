namespace Messaging;

/// <summary>
/// An admin call failed for some of the things it was asked about. <see cref="Errors"/> maps each failed item
/// (a topic, a partition) to its own error; items not listed succeeded. Retriable only if every failure is.
/// </summary>
public sealed class KafkaAdminException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    public KafkaAdminException(string message, IReadOnlyDictionary<string, KafkaException> errors)
        : base(message, AllRetriable(errors))
    {
        Errors = errors;
    }

    /// <summary>The failed items and why each failed.</summary>
    public IReadOnlyDictionary<string, KafkaException> Errors { get; }

    private static bool AllRetriable(IReadOnlyDictionary<string, KafkaException> errors)
    {
        foreach (var error in errors.Values)
        {
            if (!error.IsRetriable)
            {
                return false;
            }
        }

        return errors.Count > 0;
    }
}
