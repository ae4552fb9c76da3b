using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Messaging.Security;

/// <summary>
/// The certificates <see cref="SslOptions"/> name, loaded once when a client is built: the trusted CAs (null for the
/// system store) and the client certificate (null without mTLS). Disposing releases them.
/// </summary>
internal sealed class TlsCredentials : IDisposable
{
    private readonly bool _ownsCa;
    private readonly bool _ownsClient;
    private readonly X509Certificate2Collection? _clientChain;

    private TlsCredentials(X509Certificate2Collection? ca, bool ownsCa, ClientCredential? client, bool ownsClient)
    {
        TrustedCas = ca;
        ClientCertificate = client?.Certificate;
        _clientChain = client?.Chain;
        _ownsCa = ownsCa;
        _ownsClient = ownsClient;

        // Built once (a chain build): what the handshake sends is the certificate and the intermediates given with it.
        // Offline, so building it never fetches an issuer (AIA) from the network.
        ClientCertificateContext = client is null ? null : SslStreamCertificateContext.Create(client.Certificate, client.Chain, offline: true);
    }

    /// <summary>The only CAs trusted, or null to trust the system store.</summary>
    public X509Certificate2Collection? TrustedCas { get; }

    /// <summary>The client certificate with its private key, or null.</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary>
    /// The client certificate with the intermediate CA certificates that came with it (the rest of a PEM chain file,
    /// the other certificates of a PKCS#12 keystore), as the handshake presents it; null without mTLS.
    /// </summary>
    /// <remarks>
    /// A broker trusts the root CA only; a client certificate an intermediate CA issued is accepted only if the client
    /// sends that intermediate too, which a bare certificate would not (TLS looks for issuers in the system store).
    /// </remarks>
    public SslStreamCertificateContext? ClientCertificateContext { get; }

    /// <summary>Loads the certificates <paramref name="options"/> names.</summary>
    /// <exception cref="ArgumentException">A file or PEM text does not hold what it should (the message says which setting; never its content).</exception>
    public static TlsCredentials Load(SslOptions options)
    {
        X509Certificate2Collection? ca = null;
        ClientCredential? client = null;
        var ownsCa = true;
        try
        {
            if (options.CaPem is not null || options.CaLocation is not null)
            {
                var pem = options.CaPem ?? ReadFile(options.CaLocation!, nameof(SslOptions.CaLocation));
                ca = [];
                ca.ImportFromPem(pem);
                if (ca.Count == 0)
                {
                    throw new ArgumentException("Ssl." + (options.CaPem is not null ? nameof(SslOptions.CaPem) : nameof(SslOptions.CaLocation)) + " holds no PEM certificate.", nameof(options));
                }
            }

            client = LoadClientCertificate(options);
            return new TlsCredentials(ca, ownsCa, client, ownsClient: true);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            DisposeAll(ownsCa ? ca : null);
            client?.Certificate.Dispose();
            DisposeAll(client?.Chain);
            throw new ArgumentException("The TLS certificates or key in SslOptions could not be loaded: " + ex.Message, nameof(options), ex);
        }
        catch
        {
            DisposeAll(ownsCa ? ca : null);
            client?.Certificate.Dispose();
            DisposeAll(client?.Chain);
            throw;
        }
    }

    public void Dispose()
    {
        if (_ownsCa)
        {
            DisposeAll(TrustedCas);
        }

        if (_ownsClient)
        {
            ClientCertificate?.Dispose();
            DisposeAll(_clientChain);
        }
    }

    private static ClientCredential? LoadClientCertificate(SslOptions options)
    {
        if (options.KeystoreLocation is not null)
        {
            _ = ReadFile(options.KeystoreLocation, nameof(SslOptions.KeystoreLocation), readText: false);
            return FromKeystore(X509CertificateLoader.LoadPkcs12CollectionFromFile(options.KeystoreLocation, options.KeystorePassword))
                ?? throw new ArgumentException("Ssl." + nameof(SslOptions.KeystoreLocation) + " holds no certificate with its private key.", nameof(options));
        }

        string? certificatePem = options.CertificatePem;
        string? keyPem = options.KeyPem;
        if (options.CertificateLocation is not null)
        {
            certificatePem = ReadFile(options.CertificateLocation, nameof(SslOptions.CertificateLocation));
            keyPem = options.KeyLocation is not null ? ReadFile(options.KeyLocation, nameof(SslOptions.KeyLocation)) : certificatePem;
        }

        if (certificatePem is null)
        {
            return null;
        }

        if (keyPem is null)
        {
            throw new ArgumentException("Ssl.KeyPem is required with Ssl.CertificatePem (the client certificate's private key).", nameof(options));
        }

        using var ephemeral = options.KeyPassword is null
            ? X509Certificate2.CreateFromPem(certificatePem, keyPem)
            : X509Certificate2.CreateFromEncryptedPem(certificatePem, keyPem, options.KeyPassword);

        // The certificates after the client's own in the PEM (a "fullchain" file) are its issuers.
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(certificatePem);
            foreach (var other in chain.Where(c => c.RawDataMemory.Span.SequenceEqual(ephemeral.RawDataMemory.Span)).ToList())
            {
                chain.Remove(other);
                other.Dispose();
            }

            // A PEM-made certificate's key is ephemeral, which Windows' TLS stack cannot use; a PKCS#12 round trip gives
            // a certificate every platform's SslStream accepts. The export holds the private key unencrypted: wiped once read.
            var pkcs12 = ephemeral.Export(X509ContentType.Pkcs12);
            try
            {
                return new ClientCredential(X509CertificateLoader.LoadPkcs12(pkcs12, password: null), chain);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(pkcs12);
            }
        }
        catch
        {
            DisposeAll(chain);
            throw;
        }
    }

    /// <summary>The keystore's certificate with a private key is the client's, the others are its chain; null (all released) when none has a key.</summary>
    private static ClientCredential? FromKeystore(X509Certificate2Collection keystore)
    {
        var certificate = keystore.FirstOrDefault(c => c.HasPrivateKey);
        if (certificate is null)
        {
            DisposeAll(keystore);
            return null;
        }

        keystore.Remove(certificate);
        return new ClientCredential(certificate, keystore);
    }

    private static string ReadFile(string path, string setting, bool readText = true)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException("Ssl." + setting + " names a file that does not exist: " + path, setting);
        }

        return readText ? File.ReadAllText(path) : "";
    }

    private static void DisposeAll(X509Certificate2Collection? certificates)
    {
        if (certificates is null)
        {
            return;
        }

        foreach (var certificate in certificates)
        {
            certificate.Dispose();
        }
    }

    /// <summary>A client certificate with its private key, and the intermediates to send with it.</summary>
    private sealed record ClientCredential(X509Certificate2 Certificate, X509Certificate2Collection Chain);
}
