namespace Messaging.Security;

/// <summary>
/// The OAUTHBEARER token every connection of a client presents: fetched from the user's provider on first use and
/// again once 80% of its lifetime has passed (Kafka's <c>sasl.login.refresh.window.factor</c>), so a new connection
/// never presents a token about to expire. Concurrent connections share one provider call.
/// </summary>
/// <remarks>
/// <para>A refresh that fails (the provider throws, or returns an expired token) while the token held is still valid
/// does not fail the connection: it presents that token, as Kafka's clients keep their credential until it expires
/// when a refresh fails, so an identity provider that is down for a moment fails nothing; the next use tries the
/// provider again. Once the token held has expired, the provider's failure is the connection's.</para>
/// <para>A provider call that every connection waiting for it has given up on (their setup timeouts passed) is
/// cancelled and forgotten, so the next connection calls the provider again: a call that hangs (an identity provider
/// that never answers) would otherwise be waited on by every later connection, and the client never authenticate again.</para>
/// <para>Race: <c>_fetch</c> is set and cleared, and its waiters counted, under the lock; the fetch yields before
/// calling the provider, so a provider that completes synchronously still finishes after the fetch was published, and
/// clears it afterwards (only if it is still the current one).</para>
/// </remarks>
internal sealed class OAuthBearerTokenCache(Func<CancellationToken, ValueTask<OAuthBearerToken>> provider, TimeProvider time)
{
    private const double RefreshWindow = 0.8;
    private readonly Lock _lock = new();
    private OAuthBearerToken? _token;
    private DateTimeOffset _refreshAt;
    private Fetch? _fetch;

    /// <summary>How many times the provider was called (for tests and diagnostics).</summary>
    public int Fetches { get; private set; }

    /// <summary>A token that has not passed 80% of its lifetime, fetching one if needed.</summary>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The provider failed or returned an expired token.</exception>
    public async ValueTask<OAuthBearerToken> GetAsync(CancellationToken cancellationToken)
    {
        Fetch fetch;
        lock (_lock)
        {
            if (_token is not null && time.GetUtcNow() < _refreshAt)
            {
                return _token;
            }

            if (_fetch is null)
            {
                _fetch = new Fetch();
                _fetch.Task = FetchAsync(_fetch);
            }

            fetch = _fetch;
            fetch.Waiters++;
        }

        try
        {
            return await fetch.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Security.Authentication.AuthenticationException) when (StillValid() is { } held)
        {
            return held;
        }
        finally
        {
            Leave(fetch);
        }
    }

    /// <summary>One waiter is done with <paramref name="fetch"/>; the last one to leave an unfinished fetch abandons it.</summary>
    private void Leave(Fetch fetch)
    {
        lock (_lock)
        {
            if (--fetch.Waiters > 0 || fetch.Task.IsCompleted || !ReferenceEquals(_fetch, fetch))
            {
                return;
            }

            _fetch = null;
        }

        // Nobody awaits it now: its outcome is dropped (observed, so it is not reported as unobserved). It may have
        // finished (and released its source) since the check above, which is then all the same.
        try
        {
            fetch.Cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _ = fetch.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The token held, if it has not expired yet (past its refresh point, a refresh failed).</summary>
    private OAuthBearerToken? StillValid()
    {
        lock (_lock)
        {
            return _token is not null && time.GetUtcNow() < _token.ExpiresAt ? _token : null;
        }
    }

    private async Task<OAuthBearerToken> FetchAsync(Fetch fetch)
    {
        await Task.Yield();
        try
        {
            var now = time.GetUtcNow();
            OAuthBearerToken token;
            try
            {
                // Shared by every waiting connection, so no one caller's token may cancel it; it is cancelled once all
                // of them have given up.
                token = await provider(fetch.Cancel.Token).ConfigureAwait(false)
                    ?? throw new System.Security.Authentication.AuthenticationException("The OAUTHBEARER token provider returned no token.");
            }
            catch (Exception ex) when (ex is not System.Security.Authentication.AuthenticationException)
            {
                throw new System.Security.Authentication.AuthenticationException("The OAUTHBEARER token provider failed: " + ex.Message, ex);
            }

            if (token.ExpiresAt <= now)
            {
                throw new System.Security.Authentication.AuthenticationException("The OAUTHBEARER token provider returned a token that expired at " + token.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture) + ".");
            }

            lock (_lock)
            {
                Fetches++;
                _token = token;
                _refreshAt = now + ((token.ExpiresAt - now) * RefreshWindow);
            }

            return token;
        }
        finally
        {
            lock (_lock)
            {
                if (ReferenceEquals(_fetch, fetch))
                {
                    _fetch = null;
                }
            }

            fetch.Cancel.Dispose();
        }
    }

    /// <summary>One provider call, shared by the connections waiting for it.</summary>
    private sealed class Fetch
    {
        public CancellationTokenSource Cancel { get; } = new();

        public Task<OAuthBearerToken> Task { get; set; } = null!;

        /// <summary>Connections waiting for it (under the cache's lock).</summary>
        public int Waiters { get; set; }
    }
}
