using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace FastMta.Intake;

/// <summary>A domain whose mail is FastMta's own: it goes to <paramref name="Mailbox"/>, never out. Registered with
/// DI by whatever owns the mailbox (the bounce processor, the FBL reader).</summary>
public sealed record LocalDomain(string Domain, ILocalMailbox Mailbox);

/// <summary>The local domains and their mailboxes. Few (a bounce domain, an FBL domain or two), so a scan: a RCPT
/// to a remote domain costs a handful of byte comparisons and no allocation.</summary>
public sealed class LocalDomains
{
    private readonly (byte[] Domain, ILocalMailbox Mailbox)[] _domains;

    public LocalDomains(IEnumerable<LocalDomain> domains)
    {
        _domains = [.. domains.Select(d => (Encoding.ASCII.GetBytes(d.Domain.TrimEnd('.')), d.Mailbox))];
    }

    public static LocalDomains None { get; } = new([]);

    public bool IsEmpty => _domains.Length == 0;

    /// <summary>The mailbox for an address whose domain (after the last '@', ASCII case ignored) is local.</summary>
    public bool TryFind(ReadOnlySpan<byte> address, [NotNullWhen(true)] out ILocalMailbox? mailbox)
    {
        int at = address.LastIndexOf((byte)'@');
        ReadOnlySpan<byte> domain = at < 0 ? default : address[(at + 1)..];
        foreach ((byte[] name, ILocalMailbox candidate) in _domains)
        {
            if (!domain.IsEmpty && Ascii.EqualsIgnoreCase(domain, name))
            {
                mailbox = candidate;
                return true;
            }
        }
        mailbox = null;
        return false;
    }
}
