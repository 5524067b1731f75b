using System.Text;
using MimeKit.Utils;

namespace FastMta.Queue;

/// <summary>
/// The body of the message/delivery-status part (RFC 3464 §2.1): a per-message group, then one group per recipient,
/// groups separated by one empty line. Written here rather than through MimeKit's header lists because MimeKit
/// RFC 2047-encodes long words (fine for Subject, wrong for a Diagnostic-Code) and ends the part with an extra empty
/// line that parsers read back as an empty recipient group.
/// </summary>
internal static class DsnStatusFields
{
    private const int FoldColumn = 78;

    public static byte[] Write(DsnRequest request)
    {
        var sb = new StringBuilder(512);
        Field(sb, "Reporting-MTA", "dns; " + request.ReportingMta);
        // An extension field (RFC 3464 §2.1, "X-" prefix) as Postfix writes X-Postfix-Queue-ID: lets a sender's
        // support desk find the message in our logs.
        Field(sb, "X-FastMta-Queue-ID", request.OriginalMessageId);
        if (request.OriginalEnvelopeId is { } envId)
        {
            Field(sb, "Original-Envelope-Id", envId);
        }

        Field(sb, "Arrival-Date", DateUtils.FormatDate(request.ArrivalDate));

        foreach (var r in request.Recipients)
        {
            sb.Append("\r\n");
            if (r.OriginalRecipient is { } orcpt)
            {
                Field(sb, "Original-Recipient", orcpt);
            }

            Field(sb, "Final-Recipient", DsnText.AddressField(r.FinalRecipient));
            Field(sb, "Action", r.Action == DsnAction.Failed ? "failed" : "delayed");
            Field(sb, "Status", r.Status);
            if (r.RemoteMta is { } remote)
            {
                Field(sb, "Remote-MTA", "dns; " + remote);
            }

            if (r.Diagnostic is { } diagnostic)
            {
                Field(sb, "Diagnostic-Code", r.DiagnosticType + "; " + diagnostic);
            }

            Field(sb, "Last-Attempt-Date", DateUtils.FormatDate(r.LastAttemptDate));
        }

        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>"Name: value" with the value made printable ASCII, folded before a space where a line would pass
    /// 78 columns (RFC 5322 §2.2.3; a word longer than that stays whole rather than being cut).</summary>
    private static void Field(StringBuilder sb, string name, string value)
    {
        var column = name.Length + 1;
        sb.Append(name).Append(':');
        foreach (var word in DsnText.SevenBitLine(value).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (column + 1 + word.Length > FoldColumn && column > name.Length + 1)
            {
                sb.Append("\r\n");
                column = 0;
            }

            sb.Append(' ').Append(word);
            column += 1 + word.Length;
        }

        sb.Append("\r\n");
    }
}
