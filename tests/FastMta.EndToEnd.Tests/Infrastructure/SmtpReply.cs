using System.Text.RegularExpressions;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// One SMTP reply (RFC 5321 4.2): one or more lines with the same code, "NNN-" on all but the last.
public sealed partial record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    // The RFC 3463 enhanced status code after the reply code ("2.1.0"), or "" when the reply carries none.
    public string EnhancedCode
    {
        get
        {
            Match m = EnhancedCodePattern().Match(Lines[^1]);
            return m.Success ? m.Groups[1].Value : "";
        }
    }

    // EHLO keywords (every line after the first, keyword and its parameters), e.g. "SIZE 10000", "AUTH PLAIN LOGIN".
    public IReadOnlyList<string> Extensions => Lines.Skip(1).Select(l => l.Length > 4 ? l[4..] : "").ToList();

    public bool Advertises(string keyword) =>
        Extensions.Any(e => e.Equals(keyword, StringComparison.OrdinalIgnoreCase)
                            || e.StartsWith(keyword + " ", StringComparison.OrdinalIgnoreCase));

    // The id in "250 2.0.0 Ok: queued as <id>".
    public string QueuedId
    {
        get
        {
            Match m = QueuedAsPattern().Match(Lines[^1]);
            return m.Success ? m.Groups[1].Value : throw new InvalidOperationException($"Not a 'queued as' reply: {this}");
        }
    }

    public override string ToString() => string.Join(" | ", Lines);

    [GeneratedRegex(@"^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})(?: |$)")]
    private static partial Regex EnhancedCodePattern();

    [GeneratedRegex(@"^250 2\.0\.0 Ok: queued as ([0-9A-Z]{13})$")]
    public static partial Regex QueuedAsPattern();
}
