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

    private TlsCredentials(X509Certificate2Collection? ca, bool ownsCa, X509Certificate2? client, bool ownsClient)
    {
        TrustedCas = ca;
        ClientCertificate = client;
        _ownsCa = ownsCa;
        _ownsClient = ownsClient;
    }

    /// <summary>The only CAs trusted, or null to trust the system store.</summary>
    public X509Certificate2Collection? TrustedCas { get; }

    /// <summary>The client certificate with its private key, or null.</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary>Loads the certificates <paramref name="options"/> names.</summary>
    /// <exception cref="ArgumentException">A file or PEM text does not hold what it should (the message says which setting; never its content).</exception>
    public static TlsCredentials Load(SslOptions options)
    {
        X509Certificate2Collection? ca = null;
        X509Certificate2? client = null;
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
            client?.Dispose();
            throw new ArgumentException("The TLS certificates or key in SslOptions could not be loaded: " + ex.Message, nameof(options), ex);
        }
        catch
        {
            DisposeAll(ownsCa ? ca : null);
            client?.Dispose();
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
        }
    }

    private static X509Certificate2? LoadClientCertificate(SslOptions options)
    {
        if (options.KeystoreLocation is not null)
        {
            _ = ReadFile(options.KeystoreLocation, nameof(SslOptions.KeystoreLocation), readText: false);
            return X509CertificateLoader.LoadPkcs12FromFile(options.KeystoreLocation, options.KeystorePassword);
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

        // A PEM-made certificate's key is ephemeral, which Windows' TLS stack cannot use; a PKCS#12 round trip gives a
        // certificate every platform's SslStream accepts.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
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
}
