using Messaging.Connection;
using Messaging.Protocol;

namespace Messaging.Security;

/// <summary>
/// Keeps a connection's SASL session alive (KIP-368): the broker set a session lifetime, after which it closes the
/// connection at the next request, so at a random 85–95% of it (spread so a client's connections do not all renew at
/// once, as the Java client does) the connection authenticates again, in band, with fresh credentials (for
/// OAUTHBEARER, a refreshed token), and the next lifetime the broker grants is kept the same way.
/// </summary>
/// <remarks>
/// <para>In band: the exchange runs inside the connection's exclusive window — requests already in flight complete
/// normally, new ones wait the few round trips it takes — so no request fails because of it. A failed renewal
/// (credentials refused, a broken exchange) closes the connection; its requests fail retriably and the next
/// connection authenticates from scratch, reporting a refusal as a <see cref="KafkaAuthenticationException"/>.</para>
/// <para>Fallback: a broker whose negotiated SaslAuthenticate is v0 predates KIP-368 and cannot authenticate an open
/// connection again, so there the connection is closed at the same point and the next request reconnects.</para>
/// <para>Lifetime: the timer goes when the connection closes; a renewal running then ends with the connection's
/// error, and its outcome is ignored.</para>
/// </remarks>
internal sealed class SaslSessionRenewal
{
    /// <summary>
    /// The longest a renewal is put off: a timer cannot wait longer than about 49 days at once, so a longer session
    /// (a broker's <c>connections.max.reauth.ms</c> of months) renews after this instead — early, which costs one
    /// exchange, where a longer due time would throw and fail every connect.
    /// </summary>
    internal static readonly TimeSpan MaxDue = TimeSpan.FromMilliseconds(int.MaxValue);

    private readonly SaslAuthenticator _authenticator;
    private readonly BrokerConnection _connection;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly bool _inBand;

    private SaslSessionRenewal(SaslAuthenticator authenticator, BrokerConnection connection, TimeProvider time)
    {
        _authenticator = authenticator;
        _connection = connection;
        _time = time;
        _inBand = connection.ApiVersions.TryGetVersion(ApiKey.SaslAuthenticate, out var version) && version >= 1;
        _timer = time.CreateTimer(static state => ((SaslSessionRenewal)state!).OnDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Renews <paramref name="connection"/>'s session before <paramref name="lifetime"/> has passed, and again after each renewal.</summary>
    public static void Start(SaslAuthenticator authenticator, BrokerConnection connection, TimeSpan lifetime, TimeProvider time)
    {
        var renewal = new SaslSessionRenewal(authenticator, connection, time);
        _ = connection.Closed.ContinueWith(static (_, state) => ((SaslSessionRenewal)state!).Stop(), renewal, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        renewal.ScheduleWithin(lifetime);
    }

    private void ScheduleWithin(TimeSpan lifetime)
    {
        var due = lifetime * (0.85 + (Random.Shared.NextDouble() * 0.10));
        if (due > MaxDue)
        {
            due = MaxDue;
        }
        try
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The connection closed meanwhile: nothing to renew.
        }
    }

    private void OnDue()
    {
        if (!_inBand)
        {
            _connection.Close("the SASL session lifetime the broker set is ending and the broker cannot authenticate an open connection again (SaslAuthenticate v0); reconnecting authenticates again");
            return;
        }

        _ = RenewAsync();
    }

    private async Task RenewAsync()
    {
        // Bounded like a new connection's setup, which it repeats: a credential source that hangs ends the connection
        // instead of leaving it to the broker at the session's end. A connection that closes meanwhile fails the
        // exchange's requests, which ends it sooner.
        using var timeout = new CancellationTokenSource(Threading.Clock.TimerDelay(_connection.SetupTimeout), _time);
        TimeSpan lifetime;
        try
        {
            lifetime = await _authenticator.ExchangeAsync(_connection, closeOnFailure: true, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The exchange closed the connection if it got as far as the window; before it (the credential source
            // failed), closing here keeps the broker from doing so at the session's end mid-request.
            _connection.CloseBecause(ex);
            return;
        }

        if (lifetime > TimeSpan.Zero)
        {
            ScheduleWithin(lifetime);
        }
    }

    private void Stop() => _timer.Dispose();
}
