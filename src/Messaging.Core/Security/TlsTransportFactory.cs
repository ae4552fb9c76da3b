using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Messaging.Errors;
using Messaging.Transport;

namespace Messaging.Security;

/// <summary>
/// Opens TLS connections: the inner factory's transport (a TCP socket by default) with an <see cref="SslStream"/>
/// over it, authenticated as a client before the connection sees it. The connection's loops are unchanged: they read
/// and write plaintext through <see cref="TlsTransport"/>.
/// </summary>
/// <remarks>
/// The handshake runs under the factory's token (the connection setup timeout) and never blocks a thread: revocation
/// is not checked online (as in Kafka's clients), so no CRL or OCSP fetch can stall the connect path. A certificate the
/// policy rejects fails with a <see cref="KafkaAuthenticationException"/> that says why (untrusted chain, expired,
/// wrong name); a stream that breaks during the handshake is the usual retriable I/O error.
/// </remarks>
internal sealed class TlsTransportFactory(IKafkaTransportFactory inner, SslOptions options, TlsCredentials credentials) : IKafkaTransportFactory
{
    public async ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var transport = await inner.ConnectAsync(context, cancellationToken).ConfigureAwait(false);
        var validation = new Validation(options, context.Host);
        var tls = new SslStream(new TransportStream(transport), leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(ClientOptions(context.Host, validation), cancellationToken).ConfigureAwait(false);
            return new TlsTransport(tls, transport);
        }
        catch (AuthenticationException ex)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw KafkaExceptions.TlsHandshakeFailed(context.BrokerName, validation.Rejection ?? ex.Message + ".", ex);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private SslClientAuthenticationOptions ClientOptions(string host, Validation validation)
    {
        var client = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = options.EnabledProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = validation.Validate,

            // Every connection runs the full check (and the custom callback): a resumed session skips the certificate,
            // and connections to Kafka live long enough that the saved round trip is worth nothing.
            AllowTlsResume = false,
        };

        if (credentials.TrustedCas is { } cas)
        {
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(cas);
            client.CertificateChainPolicy = policy;
        }

        if (credentials.ClientCertificateContext is { } certificate)
        {
            // The context, not the bare certificate: it carries the intermediates the broker needs to trust it.
            client.ClientCertificateContext = certificate;
        }

        return client;
    }

    /// <summary>One handshake's certificate check; remembers why it rejected, for the error message.</summary>
    private sealed class Validation(SslOptions options, string host)
    {
        public string? Rejection { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (options.DangerousAcceptAnyServerName)
            {
                errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
            }

            var accepted = options.RemoteCertificateValidation is { } custom
                ? custom(sender, certificate, chain, errors)
                : errors == SslPolicyErrors.None;
            if (!accepted)
            {
                Rejection = Describe(certificate, chain, errors);
            }

            return accepted;
        }

        private string Describe(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            var text = new StringBuilder("the broker's certificate");
            if (certificate is not null)
            {
                text.Append(" (").Append(certificate.Subject).Append(')');
            }

            if (errors == SslPolicyErrors.None)
            {
                return text.Append(" was rejected by SslOptions.RemoteCertificateValidation.").ToString();
            }

            text.Append(" was rejected:");
            if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            {
                text.Append(" the broker sent no certificate;");
            }

            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                text.Append(" it is not issued for '").Append(host).Append("' (host-name verification);");
            }

            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                text.Append(" its chain is not trusted");
                if (chain is not null)
                {
                    var first = true;
                    foreach (var status in chain.ChainStatus)
                    {
                        text.Append(first ? " (" : ", ").Append(status.Status);
                        first = false;
                    }

                    if (!first)
                    {
                        text.Append(')');
                    }
                }

                text.Append(';');
            }

            text.Length--;
            return text.Append('.').ToString();
        }
    }
}
