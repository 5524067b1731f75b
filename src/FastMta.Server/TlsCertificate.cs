using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastMta.Server;

// STARTTLS always works: the configured PKCS#12 file, or else a self-signed certificate made at start-up (SMTP
// clients that relay opportunistically do not verify certificates; production should configure a real one).
internal static class TlsCertificate
{
    public static X509Certificate2 Load(string? path, string? password, string hostname, out bool selfSigned)
    {
        if (!string.IsNullOrEmpty(path))
        {
            selfSigned = false;
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        selfSigned = true;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostname}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostname);
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        // Re-import so the private key is usable by SslStream on Linux.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }
}
