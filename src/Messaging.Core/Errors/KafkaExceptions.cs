using System.Globalization;
using System.Text;
using Messaging.Protocol;

namespace Messaging.Errors;

/// <summary>
/// Builds every exception the client throws, in one place, so messages carry the same diagnostics everywhere:
/// what was asked, of which broker, what was pending, and what to do.
/// </summary>
internal static class KafkaExceptions
{
    public static KafkaErrorException BrokerError(ErrorCode code, ApiKey apiKey, string broker, string? detail = null)
    {
        var message = new StringBuilder()
            .Append(apiKey).Append(" to ").Append(broker).Append(" failed: ")
            .Append(ErrorCodes.Name(code)).Append(" (").Append(((short)code).ToString(CultureInfo.InvariantCulture)).Append("): ")
            .Append(ErrorCodes.Description(code));
        if (!string.IsNullOrEmpty(detail))
        {
            message.Append(" Broker says: ").Append(detail);
        }

        message.Append(ErrorCodes.IsRetriable(code) ? " Retriable." : " Not retriable.");
        return new KafkaErrorException(code, message.ToString());
    }

    public static KafkaTimeoutException Timeout(ApiKey apiKey, short version, string broker, TimeSpan elapsed, TimeSpan timeout, int otherPending)
    {
        var message = string.Create(CultureInfo.InvariantCulture,
            $"{apiKey} v{version} to {broker} timed out after {elapsed.TotalMilliseconds:0} ms (request timeout {timeout.TotalMilliseconds:0} ms); " +
            $"{otherPending} other request(s) were pending on the connection, which is now closed. Retriable.");
        return new KafkaTimeoutException(message, apiKey, broker, elapsed);
    }

    public static KafkaConnectionException ClosedBecauseOtherRequestTimedOut(ApiKey apiKey, string broker, KafkaTimeoutException cause) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"{apiKey} to {broker} was not answered: the connection was closed because another request on it timed out ({cause.Message}). " +
            $"The broker may have received this request too. Retriable: the client reconnects and the request can be sent again. " +
            $"If requests keep timing out, the broker is overloaded or the network slow, or RequestTimeout (request.timeout.ms) is too short for it."), broker, cause);

    public static KafkaTimeoutException WriteTimeout(ApiKey apiKey, string broker, TimeSpan elapsed, TimeSpan timeout) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"Writing a {apiKey} request to {broker} did not finish within the request timeout ({elapsed.TotalMilliseconds:0} ms of {timeout.TotalMilliseconds:0} ms): the broker stopped reading. The connection is closed. Retriable."),
            apiKey, broker, elapsed);

    public static KafkaConnectionException UndecodableResponse(ApiKey apiKey, short version, string broker, KafkaProtocolException cause) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"{broker} answered {apiKey} v{version} with a response that does not decode ({cause.Message}). The connection is closed. Retriable."), broker, cause);

    public static KafkaConnectionException ConnectionLost(ApiKey apiKey, string broker, Exception cause) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{apiKey} to {broker} was not answered: the connection failed ({cause.Message}). Retriable."), broker, cause);

    public static KafkaConnectionException ConnectionClosed(string broker, Exception? cause) =>
        new(cause is null
            ? "The connection to " + broker + " is closed. Retriable: the client reconnects."
            : "The connection to " + broker + " is closed (" + cause.Message + "). Retriable: the client reconnects.", broker, cause);

    public static KafkaConnectionException ConnectFailed(string broker, TimeSpan elapsed, Exception cause) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"Could not connect to {broker} after {elapsed.TotalMilliseconds:0} ms: {cause.Message} Retriable: the client backs off and reconnects."), broker, cause);

    public static KafkaConnectionException MetadataWithoutBrokers(string broker) =>
        new(broker + " answered Metadata naming no brokers: it does not know the cluster yet (it is starting up). The answer is ignored and the metadata the client had is kept. Retriable.", broker);

    public static KafkaConnectionException InBackoff(string broker, TimeSpan remaining, Exception? lastFailure) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"{broker} is unreachable (last failure: {lastFailure?.Message ?? "unknown"}); the next connection attempt is in {remaining.TotalMilliseconds:0} ms. Retriable."), broker, lastFailure);

    public static KafkaProtocolException OversizedFrame(string broker, int size, int maximum) =>
        new("ResponseFrame", "Size", 0, string.Create(CultureInfo.InvariantCulture,
            $"{broker} sent a response size prefix of {size} bytes; the maximum is {maximum} (KafkaClientOptions.MaxResponseBytes) and the minimum 4. The connection is closed and nothing was allocated."));

    public static KafkaProtocolException UnexpectedCorrelationId(string broker, int received, int? expected) =>
        new("ResponseHeader", "CorrelationId", 0, expected is null
            ? string.Create(CultureInfo.InvariantCulture, $"{broker} sent a response (correlation id {received}) when no request was pending. The connection is closed.")
            : string.Create(CultureInfo.InvariantCulture, $"{broker} sent a response with correlation id {received} where {expected} was next. The connection is closed."));

    public static KafkaGroupException GroupRefused(string groupId, ApiKey apiKey, ErrorCode code, string? detail, string consequence)
    {
        var message = new StringBuilder()
            .Append("Group '").Append(groupId).Append("': ").Append(apiKey).Append(" failed with ")
            .Append(ErrorCodes.Name(code)).Append(" (").Append(((short)code).ToString(CultureInfo.InvariantCulture)).Append("): ")
            .Append(ErrorCodes.Description(code));
        if (!string.IsNullOrEmpty(detail))
        {
            message.Append(" Broker says: ").Append(detail);
        }

        message.Append(' ').Append(consequence);
        return new KafkaGroupException(groupId, code, message.ToString());
    }

    /// <summary>An offset fetch that did not succeed within the api timeout (<c>default.api.timeout.ms</c>): retriable, with the last error it met.</summary>
    public static KafkaErrorException OffsetFetchTimedOut(string groupId, TimeSpan timeout, ErrorCode lastCode, string? lastFailure)
    {
        var message = new StringBuilder()
            .Append("Fetching the committed offsets of group '").Append(groupId).Append("' did not succeed within the api timeout (DefaultApiTimeout, ")
            .Append(timeout.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)).Append(" ms). Last attempt: ")
            .Append(lastFailure ?? ErrorCodes.Name(lastCode) + " (" + ErrorCodes.Description(lastCode) + ")")
            .Append(" Retriable.");
        return new KafkaErrorException(lastCode, message.ToString());
    }

    public static KafkaCommitException CommitFailed(string groupId, ErrorCode code, bool isRetriable,
        IReadOnlyDictionary<TopicPartition, ErrorCode> partitionErrors, string consequence, Exception? cause = null)
    {
        var message = new StringBuilder()
            .Append("Offset commit for group '").Append(groupId).Append("' failed: ")
            .Append(ErrorCodes.Name(code)).Append(" (").Append(((short)code).ToString(CultureInfo.InvariantCulture)).Append("): ")
            .Append(ErrorCodes.Description(code));
        if (partitionErrors.Count > 0)
        {
            message.Append(" Refused partitions: ");
            var first = true;
            foreach (var (partition, error) in partitionErrors)
            {
                message.Append(first ? "" : ", ").Append(partition.ToString()).Append('=').Append(ErrorCodes.Name(error));
                first = false;
            }

            message.Append('.');
        }

        if (cause is not null)
        {
            message.Append(" Last failure: ").Append(cause.Message);
        }

        message.Append(' ').Append(consequence);
        return new KafkaCommitException(groupId, code, message.ToString(), isRetriable, partitionErrors, cause);
    }

    public static KafkaAuthenticationException TlsHandshakeFailed(string broker, string reason, Exception? cause) =>
        new("The TLS handshake with " + broker + " failed: " + reason + " Not retriable: check the trusted CA certificates, the broker's host name and the client certificate.", broker, "TLS", cause);

    public static KafkaAuthenticationException SaslMechanismNotEnabled(string broker, string mechanism, IReadOnlyList<string> enabled) =>
        new("SASL mechanism " + mechanism + " is not enabled on " + broker + "; it enables: " + (enabled.Count == 0 ? "none" : string.Join(", ", enabled)) + ". Not retriable: set SaslOptions.Mechanism to one of them.", broker, mechanism);

    public static KafkaAuthenticationException SaslFailed(string broker, string mechanism, ErrorCode code, string? brokerMessage) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"SASL {mechanism} authentication with {broker} failed: {ErrorCodes.Name(code)} ({(short)code}).{(string.IsNullOrEmpty(brokerMessage) ? "" : " Broker says: " + brokerMessage)} Not retriable: check the credentials."), broker, mechanism);

    public static KafkaAuthenticationException SaslProtocolViolation(string broker, string mechanism, string what, Exception? cause = null) =>
        new("SASL " + mechanism + " authentication with " + broker + " failed: " + what + " Not retriable.", broker, mechanism, cause);

    public static KafkaAuthenticationException SaslNotSupported(string broker, string mechanism, UnsupportedApiVersionException cause) =>
        new("SASL " + mechanism + " authentication with " + broker + " is impossible: " + cause.Message, broker, mechanism, cause);

    public static KafkaGroupException RebalanceListenerFailed(string groupId, string callback, Exception cause) =>
        new(groupId, ErrorCode.None, "Group '" + groupId + "': the rebalance listener's " + callback + " threw: " + cause.Message +
            " The rebalance went on without it; fix the listener (it must not throw).", cause);

    public static KafkaGroupException AssignorFailed(string groupId, string assignor, string method, string consequence, Exception cause) =>
        new(groupId, ErrorCode.None, "Group '" + groupId + "': the partition assignor '" + assignor + "' threw from " + method + ": " + cause.Message +
            " " + consequence + "; fix the assignor (it must not throw).", cause);

    public static KafkaGroupException AssignmentFailed(string groupId, string problem, Exception? cause) =>
        new(groupId, ErrorCode.None, "Group '" + groupId + "': " + problem + (cause is null ? "." : ": " + cause.Message) +
            " The member goes on and rejoins the group.", cause);

    public static KafkaGroupException PatternMatchTimedOut(string groupId, string topics, double timeoutMs) =>
        new(groupId, ErrorCode.None, "Group '" + groupId + "': matching the subscription pattern against topic(s) " + topics + " timed out (its MatchTimeout, " +
            timeoutMs.ToString(CultureInfo.InvariantCulture) + " ms). Each keeps its place in the subscription and is matched again at the next metadata check; simplify the pattern or raise its MatchTimeout.");

    public static InvalidOperationException NotInGroup(string what) =>
        new(what + " needs a consumer group: set KafkaConsumerOptions.GroupId.");

    public static ObjectDisposedException Disposed(string what) => new(what, what + " has been disposed.");
}
