namespace FastMta.Smtp;

/// <summary>The service extensions a receiver offered in its EHLO reply (RFC 5321 4.1.1.1).</summary>
/// <param name="MaxMessageSize">RFC 1870 SIZE value; 0 when SIZE is absent or declares no fixed limit.</param>
public readonly record struct EhloCapabilities(
    bool Pipelining,
    bool Size,
    long MaxMessageSize,
    bool EightBitMime,
    bool SmtpUtf8,
    bool Chunking,
    bool StartTls,
    bool EnhancedStatusCodes)
{
    // ehlo-ok-rsp: the first line is the server's domain and greeting; each later line is ehlo-keyword *(SP param).
    // Keywords are case-insensitive (RFC 5321 2.4). Unknown keywords are ignored, as they must be; a malformed SIZE
    // value counts as "no fixed limit" rather than making the whole reply unusable.
    public static EhloCapabilities Parse(IReadOnlyList<string> lines)
    {
        var capabilities = default(EhloCapabilities);
        for (int i = 1; i < lines.Count; i++)
        {
            ReadOnlySpan<char> line = lines[i].AsSpan().Trim(' ');
            int space = line.IndexOf(' ');
            ReadOnlySpan<char> keyword = space < 0 ? line : line[..space];
            ReadOnlySpan<char> parameters = space < 0 ? default : line[(space + 1)..].Trim(' ');
            if (keyword.Equals("PIPELINING", StringComparison.OrdinalIgnoreCase))
            {
                capabilities = capabilities with { Pipelining = true };
            }
            else if (keyword.Equals("SIZE", StringComparison.OrdinalIgnoreCase))
            {
                long.TryParse(parameters, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
                    out long size);
                capabilities = capabilities with { Size = true, MaxMessageSize = Math.Max(size, 0) };
            }
            else if (keyword.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase))
            {
                capabilities = capabilities with { EightBitMime = true };
            }
            else if (keyword.Equals("SMTPUTF8", StringComparison.OrdinalIgnoreCase))
            {
                capabilities = capabilities with { SmtpUtf8 = true };
            }
            else if (keyword.Equals("CHUNKING", StringComparison.OrdinalIgnoreCase))
            {
                capabilities = capabilities with { Chunking = true };
            }
            else if (keyword.Equals("STARTTLS", StringComparison.OrdinalIgnoreCase))
            {
                capabilities = capabilities with { StartTls = true };
            }
            else if (keyword.Equals("ENHANCEDSTATUSCODES", StringComparison.OrdinalIgnoreCase))
            {
                capabilities = capabilities with { EnhancedStatusCodes = true };
            }
        }
        return capabilities;
    }
}
