namespace FastMta.Queue;

/// <summary>One recipient block of a DSN (RFC 3464 §2.3).</summary>
internal sealed class DsnRecipient
{
    /// <summary>The envelope recipient as it was attempted (Final-Recipient). A non-ASCII address is reported with the
    /// "utf-8" address type of RFC 6533.</summary>
    public required string FinalRecipient { get; init; }

    /// <summary>The ORCPT the client gave, as "type;address" decoded from xtext; null when none was given.</summary>
    public string? OriginalRecipient { get; init; }

    public required DsnAction Action { get; init; }

    /// <summary>RFC 3463 status such as "5.1.1" or "4.4.1". A recipient that expired after 4xx replies keeps its 4.x.x
    /// status with Action failed, as Postfix reports it.</summary>
    public required string Status { get; init; }

    /// <summary>The last reply as one line: code, enhanced status and text ("550 5.1.1 &lt;bob@example.com&gt;: no such user").
    /// Null when there is none to report. Non-ASCII and control characters become '?' in the delivery-status part
    /// (RFC 3464 fields are US-ASCII); the human-readable part keeps them.</summary>
    public string? Diagnostic { get; init; }

    /// <summary>The RFC 3464 diagnostic-type: "smtp" for a reply a server sent; "X-FastMta" for a locally made failure
    /// (DNS, connection), as Postfix uses "X-Postfix".</summary>
    public string DiagnosticType { get; init; } = "smtp";

    /// <summary>The host name of the server that gave the reply (Remote-MTA); null when none was reached.</summary>
    public string? RemoteMta { get; init; }

    public required DateTimeOffset LastAttemptDate { get; init; }
}
