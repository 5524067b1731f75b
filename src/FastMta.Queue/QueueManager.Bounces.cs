using System.Buffers;
using System.Globalization;
using System.Text;
using FastMta.Intake;
using FastMta.Spool;

namespace FastMta.Queue;

// Bounces: one RFC 3464 DSN per failed attempt's recipients, spooled with the null sender like any other message
// (it then goes through the normal queue and retries). A message with the null sender is never bounced, so a DSN
// can never cause another.
public sealed partial class QueueManager
{
    private async Task BounceAsync(QueuedMessage message, List<Bounced> bounced, string? remoteHost, MessageBody body, DateTimeOffset now)
    {
        SpooledEnvelope envelope = message.Envelope;
        if (!DsnBuilder.MaySend(envelope.Sender))
        {
            _metrics.Bounce("suppressed");
            return;
        }

        try
        {
            var recipients = new DsnRecipient[bounced.Count];
            for (int i = 0; i < recipients.Length; i++)
            {
                SpooledRecipient recipient = envelope.Recipients[bounced[i].RecipientIndex];
                RecipientResult reply = bounced[i].Reply;
                recipients[i] = new DsnRecipient
                {
                    FinalRecipient = recipient.Address,
                    OriginalRecipient = XtextParameter(recipient.Parameters, "ORCPT="),
                    Action = DsnAction.Failed,
                    Status = reply.EnhancedStatus,
                    Diagnostic = $"{reply.ReplyCode} {reply.EnhancedStatus} {reply.Response}",
                    DiagnosticType = remoteHost is null ? "X-FastMta" : "smtp",
                    RemoteMta = remoteHost,
                    LastAttemptDate = now,
                };
            }

            // Only the header section goes back, so only its bound is read (two bytes more: an empty line at the limit).
            byte[] original = await body.ReadPrefixAsync(DsnBuilder.MaxReturnedHeaderBytes + 2, CancellationToken.None).ConfigureAwait(false);
            var request = new DsnRequest
            {
                ReportingMta = _options.ReportingMta,
                OriginalSender = envelope.Sender,
                OriginalMessageId = envelope.Id.ToString(),
                OriginalEnvelopeId = XtextParameter(envelope.SenderParameters, "ENVID="),
                ArrivalDate = envelope.ReceivedAt,
                Date = now,
                Recipients = recipients,
                OriginalMessage = new ReadOnlySequence<byte>(original),
            };

            // Through the intake pipeline like every message: no Received header (FastMta wrote it), no size limit.
            var intake = new IntakePipeline(() => _spool, new IntakeOptions { Hostname = _options.ReportingMta });
            using IntakeTransaction transaction = intake.CreateTransaction();
            transaction.SetSender([], []);
            // A non-ASCII sender can only be reached over SMTPUTF8, which the queue derives from the address itself.
            transaction.AddRecipient(Encoding.UTF8.GetBytes(envelope.Sender), []);
            transaction.SetOrigin(string.Empty, _options.ReportingMta, null, "DSN");
            transaction.StartContent();
            DsnBuilder.Write(request, transaction.Content);
            IntakeRejection content = transaction.Complete();
            if (content != IntakeRejection.None)
            {
                throw new InvalidOperationException($"The intake pipeline refused a generated DSN's content: {content}.");
            }
            IntakeResult result = await transaction.CommitAsync().ConfigureAwait(false);
            if (!result.IsAccepted)
            {
                _metrics.Bounce("error");
                Log.BounceFailed(_logger, envelope.Id.ToString(), envelope.Sender, result.Cause!);
                return;
            }
            _metrics.Bounce("queued");
            Log.Bounced(_logger, envelope.Id.ToString(), result.Id.ToString(), recipients.Length, envelope.Sender);
        }
        catch (Exception e)
        {
            _metrics.Bounce("error");
            Log.BounceFailed(_logger, envelope.Id.ToString(), envelope.Sender, e);
        }
    }

    /// <summary>The xtext-decoded value of an ESMTP parameter such as ENVID= or ORCPT= (RFC 3461 §4); null if absent.</summary>
    internal static string? XtextParameter(string parameters, string keyword)
    {
        foreach (Range range in parameters.AsSpan().Split(' '))
        {
            ReadOnlySpan<char> parameter = parameters.AsSpan(range);
            if (!parameter.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            ReadOnlySpan<char> value = parameter[keyword.Length..];
            var decoded = new StringBuilder(value.Length);
            for (int i = 0; i < value.Length; i++)
            {
                if (value[i] == '+' && i + 2 < value.Length && byte.TryParse(value.Slice(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
                {
                    decoded.Append((char)b);
                    i += 2;
                }
                else
                {
                    decoded.Append(value[i]);
                }
            }

            return decoded.ToString();
        }

        return null;
    }
}
