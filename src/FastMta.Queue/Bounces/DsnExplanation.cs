using System.Globalization;
using System.Text;
using MimeKit.Utils;

namespace FastMta.Queue;

/// <summary>The human-readable first part of a DSN (RFC 3464 §2, RFC 6522 §3). Wording only: nothing parses it.</summary>
internal static class DsnExplanation
{
    public static string Write(DsnRequest request)
    {
        var sb = new StringBuilder();
        Line(sb, $"This is the mail system at host {request.ReportingMta}.");
        Line(sb, "");
        Line(sb, $"Your message {request.OriginalMessageId}, received {DateUtils.FormatDate(request.ArrivalDate)},");

        var failed = request.Recipients.Where(r => r.Action == DsnAction.Failed).ToList();
        var delayed = request.Recipients.Where(r => r.Action == DsnAction.Delayed).ToList();
        if (failed.Count > 0)
        {
            Line(sb, "could not be delivered to the recipient(s) below. This is a permanent error;");
            Line(sb, "the message will not be retried for them.");
            Recipients(sb, failed);
        }

        if (delayed.Count > 0)
        {
            Line(sb, failed.Count > 0
                ? "Delivery to the recipient(s) below is delayed; the mail system keeps trying:"
                : "has not yet been delivered to the recipient(s) below. The mail system keeps trying;");
            if (failed.Count == 0)
            {
                Line(sb, "you do not need to send it again.");
            }

            Recipients(sb, delayed);
        }

        Line(sb, "");
        Line(sb, "The delivery report and the header of your message follow.");
        return sb.ToString();
    }

    private static void Recipients(StringBuilder sb, List<DsnRecipient> recipients)
    {
        foreach (var r in recipients)
        {
            Line(sb, "");
            var said = r.Diagnostic is null ? $"status {r.Status}" : r.Diagnostic.ReplaceLineEndings(" ");
            Line(sb, r.RemoteMta is null
                ? $"<{r.FinalRecipient}>: {said}"
                : $"<{r.FinalRecipient}>: host {r.RemoteMta} said: {said}");
        }
    }

    // CRLF explicitly: the part is written as-is and the message must be canonical (RFC 5322 §2.3).
    private static void Line(StringBuilder sb, string text) => sb.Append(CultureInfo.InvariantCulture, $"{text}\r\n");
}
