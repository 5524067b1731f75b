namespace FastMta.Smtp;

/// <summary>A complete SMTP reply as received (RFC 5321 4.2).</summary>
/// <param name="Code">The three-digit reply code.</param>
/// <param name="EnhancedStatus">The RFC 3463 code at the start of the first line's text ("5.1.1"), or empty.</param>
/// <param name="Lines">The text of each line after "ddd-" / "ddd " (the enhanced code, when present, included).</param>
public sealed record SmtpReply(int Code, string EnhancedStatus, IReadOnlyList<string> Lines)
{
    public bool IsPositive => Code is >= 200 and < 300;
    public bool IsIntermediate => Code is >= 300 and < 400;
    public bool IsTransient => Code is >= 400 and < 500;
    public bool IsPermanent => Code >= 500;

    /// <summary>The lines joined by a space, as a delivery log or DSN shows them.</summary>
    public string Text => Lines.Count == 1 ? Lines[0] : string.Join(' ', Lines);

    /// <summary>The enhanced code as received, or one made up from the reply class ("2.0.0", "4.0.0", "5.0.0").</summary>
    public string EnhancedStatusOrDefault => EnhancedStatus.Length > 0 ? EnhancedStatus : $"{Code / 100}.0.0";

    public override string ToString() => $"{Code} {Text}";
}
