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
/// <para>Race: <c>_fetching</c> is set and cleared under the lock; the fetch yields before calling the provider, so a
/// provider that completes synchronously still finishes after the task was published, and clears it afterwards.</para>
/// </remarks>
internal sealed class OAuthBearerTokenCache(Func<CancellationToken, ValueTask<OAuthBearerToken>> provider, TimeProvider time)
{
    private const double RefreshWindow = 0.8;
    private readonly Lock _lock = new();
    private OAuthBearerToken? _token;
    private DateTimeOffset _refreshAt;
    private Task<OAuthBearerToken>? _fetching;

    /// <summary>How many times the provider was called (for tests and diagnostics).</summary>
    public int Fetches { get; private set; }

    /// <summary>A token that has not passed 80% of its lifetime, fetching one if needed.</summary>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The provider failed or returned an expired token.</exception>
    public async ValueTask<OAuthBearerToken> GetAsync(CancellationToken cancellationToken)
    {
        Task<OAuthBearerToken> fetching;
        lock (_lock)
        {
            if (_token is not null && time.GetUtcNow() < _refreshAt)
            {
                return _token;
            }

            fetching = _fetching ??= FetchAsync();
        }

        try
        {
            return await fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Security.Authentication.AuthenticationException) when (StillValid() is { } held)
        {
            return held;
        }
    }

    /// <summary>The token held, if it has not expired yet (past its refresh point, a refresh failed).</summary>
    private OAuthBearerToken? StillValid()
    {
        lock (_lock)
        {
            return _token is not null && time.GetUtcNow() < _token.ExpiresAt ? _token : null;
        }
    }

    private async Task<OAuthBearerToken> FetchAsync()
    {
        await Task.Yield();
        try
        {
            var now = time.GetUtcNow();
            OAuthBearerToken token;
            try
            {
                // Shared by every waiting connection, so no one caller's token may cancel it; each waits with its own.
                token = await provider(CancellationToken.None).ConfigureAwait(false)
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
                _fetching = null;
            }
        }
    }
}
