using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace FastMta.Server.Api;

/// <summary>
/// Checks of what the HTTP APIs take from clients beyond their JSON schema: the admin API's destination domains and
/// list limits from paths and query strings (and the 400 problem they answer with), the injection API's body
/// charset and NUL characters. A value that passes is used as given; nothing is normalised here (the queue
/// lower-cases domains itself).
/// </summary>
internal static class ApiInput
{
    private const int MaxDomainOctets = 253; // RFC 1035 2.3.4: 255 on the wire, 253 in text without the final dot
    private const int MaxLabelOctets = 63;
    private const int MaxLiteralOctets = 64; // "[IPv6:" + the longest IPv6 text form + "]" fits easily

    /// <summary>
    /// Refuses, with 400 before the endpoint runs, a request whose <c>{domain}</c> route value or <c>domain</c> query
    /// parameter is not a domain name (<see cref="TryValidateDomain"/>) or whose <c>limit</c> is outside 1 to
    /// <paramref name="maxLimit"/>. Runs after parameter binding: a limit that is not a number never gets here (see
    /// ProblemResponses).
    /// </summary>
    public static RouteGroupBuilder ValidateDomainAndLimit(this RouteGroupBuilder group, int maxLimit)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            HttpRequest request = context.HttpContext.Request;
            string error;
            if (request.RouteValues.TryGetValue("domain", out object? routed) && !TryValidateDomain(routed as string, out error))
            {
                return Invalid(context.HttpContext, "domain", error, "invalid_domain");
            }
            // As bound: several values of one parameter arrive joined by ',', which no domain holds.
            if (request.Query.TryGetValue("domain", out StringValues queried) && !TryValidateDomain(queried.ToString(), out error))
            {
                return Invalid(context.HttpContext, "domain", error, "invalid_domain");
            }
            if (request.Query.TryGetValue("limit", out StringValues limit) && limit.ToString() is { Length: > 0 } text
                && (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int requested)
                    || requested < 1 || requested > maxLimit))
            {
                return Invalid(context.HttpContext, "limit", $"must be a whole number between 1 and {maxLimit}", "invalid_limit");
            }
            return await next(context);
        });
        return group;
    }

    /// <summary>
    /// A destination domain as the queue knows it: a DNS name of LDH labels (letters, digits, hyphens not at either
    /// end of a label; '_' too, as the SMTP parser admits it in RCPT TO) or of IDNA U-labels, at most 253 octets in
    /// its ASCII (A-label) form with labels of at most 63, no final dot; or an address literal as RCPT TO may give it
    /// (<c>[192.0.2.1]</c>, <c>[IPv6:2001:db8::1]</c>). Refuses wildcards, '/', '%', spaces, controls and Unicode
    /// format characters such as the right-to-left override (U+202E): none of them can be a queued domain.
    /// </summary>
    public static bool TryValidateDomain(string? value, out string error)
    {
        error = "";
        if (string.IsNullOrEmpty(value))
        {
            error = "must not be empty: a domain name such as example.com";
            return false;
        }
        if (value[0] == '[')
        {
            // The SMTP parser's own address-literal rule, so that any literal RCPT TO accepted can be named here.
            if (value.Length > MaxLiteralOctets || !EnvelopeAddress.TryParseRecipient("a@" + value, out _))
            {
                error = "is not a valid address literal (such as [192.0.2.1] or [IPv6:2001:db8::1])";
                return false;
            }
            return true;
        }
        if (value.Length > MaxDomainOctets)
        {
            error = $"is {value.Length} characters long; a domain name has at most {MaxDomainOctets}";
            return false;
        }

        bool ascii = true;
        foreach (string label in value.Split('.'))
        {
            if (label.Length == 0)
            {
                error = "has an empty label (a leading, trailing or doubled '.')";
                return false;
            }
            if (label[0] == '-' || label[^1] == '-')
            {
                error = $"has a label beginning or ending with '-' ({Quote(label)})";
                return false;
            }
            foreach (Rune rune in label.EnumerateRunes())
            {
                if (rune.IsAscii ? !(char.IsAsciiLetterOrDigit((char)rune.Value) || rune.Value is '-' or '_') : !IsLabelCharacter(rune))
                {
                    error = $"contains {Describe(rune)}, which no domain name label may hold (letters, digits and '-' only)";
                    return false;
                }
                ascii &= rune.IsAscii;
            }
            if (label.Length > MaxLabelOctets)
            {
                error = $"has a label of {label.Length} characters; at most {MaxLabelOctets}";
                return false;
            }
        }
        if (ascii)
        {
            return true;
        }

        // U-labels: the limits apply to the A-label form that DNS carries (RFC 5890 2.3.2.1).
        string aLabels;
        try
        {
            aLabels = new IdnMapping { UseStd3AsciiRules = true }.GetAscii(value.Replace('_', '-')); // '_' is ours, not IDNA's: only the lengths matter here
        }
        catch (ArgumentException)
        {
            error = "is not a valid internationalised domain name";
            return false;
        }
        if (aLabels.Length > MaxDomainOctets || aLabels.Split('.').Any(l => l.Length > MaxLabelOctets))
        {
            error = $"is too long in its ASCII form ({aLabels.Length} octets; labels at most {MaxLabelOctets}, the name at most {MaxDomainOctets})";
            return false;
        }
        return true;
    }

    /// <summary>400, RFC 9457 validation problem naming the one offending parameter, counted by reason.</summary>
    public static IResult Invalid(HttpContext http, string parameter, string error, string reason)
    {
        http.RequestServices.GetRequiredService<ApiMetrics>().Refused(StatusCodes.Status400BadRequest, reason);
        return Results.ValidationProblem(new Dictionary<string, string[]> { [parameter] = [error] },
            detail: $"{parameter}: {error}", title: "The request is invalid.", type: "https://tools.ietf.org/html/rfc9110#section-15.5.1");
    }

    /// <summary>
    /// True (with the problem's errors) when the Content-Type names a charset other than UTF-8. JSON is UTF-8
    /// (RFC 8259 8.1) and the body is read as such; a client declaring ISO-8859-1 would get its accented letters
    /// stored as something else, so it is told instead. No charset parameter means UTF-8.
    /// </summary>
    public static bool TryRefuseCharset(string? contentType, [NotNullWhen(true)] out IDictionary<string, string[]>? errors)
    {
        errors = null;
        if (!MediaTypeHeaderValue.TryParse(contentType, out MediaTypeHeaderValue? media) || !media.Charset.HasValue)
        {
            return false;
        }
        string charset = media.Charset.Value!.Trim('"');
        if (charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        errors = new Dictionary<string, string[]>
        {
            ["Content-Type"] = [$"charset={Quote(charset)} is not supported: JSON bodies must be UTF-8 (RFC 8259 8.1); send charset=utf-8 or no charset"],
        };
        return true;
    }

    /// <summary>
    /// The first field of a message request holding a NUL (U+0000), or null. NUL is not text (RFC 5322 2.2, 3.5;
    /// SMTP without BINARYMIME cannot carry it, RFC 3030), and receivers truncate or reject at it.
    /// </summary>
    public static string? FieldWithNul(InjectionRequest request)
    {
        static bool Nul(string? s) => s is not null && s.Contains('\0');
        string? field = Nul(request.Content) ? "content"
            : Nul(request.Subject) ? "subject"
            : Nul(request.HeaderFrom) ? "headerFrom"
            : Nul(request.Text) ? "text"
            : Nul(request.Html) ? "html"
            : null;
        if (field is not null)
        {
            return field;
        }
        if (request.Headers?.FirstOrDefault(h => Nul(h.Key) || Nul(h.Value)) is { Key: not null } header)
        {
            return $"headers.{header.Key.Replace("\0", "")}";
        }
        int index = request.Attachments?.FindIndex(a => a is not null && (Nul(a.Filename) || Nul(a.ContentType))) ?? -1;
        return index >= 0 ? $"attachments[{index}]" : null;
    }

    // IDNA2008 (RFC 5892) admits letters, combining marks and digits; the controls, spaces, symbols, punctuation and
    // format characters (bidirectional overrides, zero-width joiners) it disallows are refused here without a table.
    private static bool IsLabelCharacter(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.DecimalDigitNumber => true,
        _ => false,
    };

    private static string Describe(Rune rune) =>
        rune.Value is >= 0x21 and < 0x7F ? $"'{(char)rune.Value}'" : $"U+{rune.Value:X4}";

    private static string Quote(string label) => label.Length <= 20 ? label : label[..20] + "...";
}
