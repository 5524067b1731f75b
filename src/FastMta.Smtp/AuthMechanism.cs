namespace FastMta.Smtp;

// The SASL mechanisms we offer (RFC 4954); only over TLS, so PLAIN/LOGIN do not expose the password.
public enum AuthMechanism : byte
{
    Unknown,
    Plain,
    Login,
}
