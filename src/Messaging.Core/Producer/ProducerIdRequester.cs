using Messaging.Cluster;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Producer;

/// <summary>
/// Gets the idempotent producer its id (InitProducerId, once, in the background, retried with the backoff whatever
/// ended an attempt) and records the error that stops the producer for good when the broker refuses for a reason a
/// retry cannot fix.
/// </summary>
internal sealed class ProducerIdRequester
{
    private readonly ClusterClient _cluster;
    private readonly IdempotenceState _idempotence;
    private readonly RecordAccumulator _accumulator;
    private readonly ProducerSettings _settings;
    private readonly ProducerLog _log;
    private readonly Action _settled;
    private readonly CancellationToken _stop;
    private readonly Lock _lock = new();
    private Task? _requesting;
    private Exception? _fatal;

    /// <param name="cluster">Where InitProducerId goes (any broker of the cluster client's pool).</param>
    /// <param name="idempotence">Told the producer id once it is known.</param>
    /// <param name="accumulator">Whose queued batches fail when the producer stops for good.</param>
    /// <param name="settings">Whether the producer is idempotent, and the retry backoff.</param>
    /// <param name="log">Where retries and the assigned id are logged.</param>
    /// <param name="settled">Called when a request round ends (id known, fatal error, or stopping): the senders waiting for it look again.</param>
    /// <param name="stop">Cancelled when the producer closes.</param>
    public ProducerIdRequester(ClusterClient cluster, IdempotenceState idempotence, RecordAccumulator accumulator, ProducerSettings settings,
        ProducerLog log, Action settled, CancellationToken stop)
    {
        _cluster = cluster;
        _idempotence = idempotence;
        _accumulator = accumulator;
        _settings = settings;
        _log = log;
        _settled = settled;
        _stop = stop;
    }

    /// <summary>The error that stopped the producer for good, if any.</summary>
    public Exception? Fatal => Volatile.Read(ref _fatal);

    /// <summary>
    /// Whether senders may drain now: without idempotence always; with it once a producer id is known — asking for
    /// one (once, in the background) when there is none.
    /// </summary>
    public bool ReadyToSend()
    {
        if (!_settings.Idempotent || _idempotence.Current.IsValid)
        {
            return true;
        }

        lock (_lock)
        {
            if (_requesting is null && _fatal is null && !_stop.IsCancellationRequested)
            {
                _requesting = RequestAsync();
            }
        }

        return false;
    }

    /// <summary>Completes when no request is running (closing waits for it after cancelling the stop token).</summary>
    public Task WhenIdleAsync()
    {
        lock (_lock)
        {
            return _requesting ?? Task.CompletedTask;
        }
    }

    private async Task RequestAsync()
    {
        await Task.Yield();
        var token = _stop;
        var attempt = 0;
        try
        {
            while (!token.IsCancellationRequested)
            {
                attempt++;
                try
                {
                    var connection = await _cluster.GetAnyAsync(token).ConfigureAwait(false);
                    var request = new InitProducerIdRequest
                    {
                        TransactionalId = null,
                        TransactionTimeoutMs = int.MaxValue,
                        ProducerId = -1,
                        ProducerEpoch = -1,
                    };
                    var response = await connection.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(request, token).ConfigureAwait(false);
                    if (response.ErrorCode == ErrorCode.None)
                    {
                        _idempotence.SetProducerId(new ProducerIdAndEpoch(response.ProducerId, response.ProducerEpoch));
                        _log.ProducerIdAssigned(response.ProducerId, response.ProducerEpoch);
                        break;
                    }

                    var error = KafkaExceptions.BrokerError(response.ErrorCode, ApiKey.InitProducerId, connection.Name);
                    if (!error.IsRetriable)
                    {
                        SetFatal(error);
                        break;
                    }

                    _log.InitProducerIdRetry(error.Message);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
                catch (UnsupportedApiVersionException ex)
                {
                    SetFatal(ex);
                    break;
                }
#pragma warning disable CA1031 // Whatever ended the attempt (a Kafka error, the connection disposed under it, a plugged-in transport's own exception), the records wait for this id: ask again after the backoff; they fail at their delivery timeout if it never comes.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    _log.InitProducerIdRetry(ex.Message);
                }

                await _settings.Clock.Delay(TimeSpan.FromMilliseconds(Math.Min(_settings.RetryBackoffMax.TotalMilliseconds, _settings.RetryBackoff.TotalMilliseconds * attempt)), token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            lock (_lock)
            {
                _requesting = null;
            }

            _settled();
        }
    }

    private void SetFatal(Exception error)
    {
        Volatile.Write(ref _fatal, error);
        _accumulator.StopForGood(error);
    }
}
