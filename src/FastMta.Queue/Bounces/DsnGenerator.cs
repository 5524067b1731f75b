using System.Buffers;
using System.Globalization;
using System.Text;
using FastMta.Intake;
using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>A recipient that failed or expired and goes into the sender's DSN, with the reply that failed it.</summary>
internal readonly record struct BouncedRecipient(int RecipientIndex, RecipientResult Reply);

/// <summary>
/// Bounces: one RFC 3464 DSN per failed attempt's recipients, spooled with the null sender like any other message
/// (it then goes through the normal queue and retries). A message with the null sender is never bounced, so a DSN
/// can never cause another. Called without the gate.
/// </summary>
internal sealed class DsnGenerator(MessageSpool spool, QueueOptions options, QueueMetrics metrics, ILogger logger)
{
    private readonly IntakePipeline _intake = new(() => spool, new IntakeOptions { Hostname = options.ReportingMta });

    /// <summary>Builds and queues the DSN for <paramref name="bounced"/>; never throws (a failure is logged and
    /// counted: the failure is still in the delivery log). Without the gate.</summary>
    public async Task BounceAsync(SpooledEnvelope envelope, IReadOnlyList<BouncedRecipient> bounced, string? remoteHost, MessageBody body,
        DateTimeOffset now)
    {
        if (!DsnBuilder.MaySend(envelope.Sender))
        {
            metrics.Bounce("suppressed");
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
                ReportingMta = options.ReportingMta,
                OriginalSender = envelope.Sender,
                OriginalMessageId = envelope.Id.ToString(),
                OriginalEnvelopeId = XtextParameter(envelope.SenderParameters, "ENVID="),
                ArrivalDate = envelope.ReceivedAt,
                Date = now,
                Recipients = recipients,
                OriginalMessage = new ReadOnlySequence<byte>(original),
            };

            IntakeResult result = await InjectAsync(request, envelope.Sender).ConfigureAwait(false);
            if (!result.IsAccepted)
            {
                metrics.Bounce("error");
                Log.BounceFailed(logger, envelope.Id.ToString(), envelope.Sender, result.Cause!);
                return;
            }

            metrics.Bounce("queued");
            Log.Bounced(logger, envelope.Id.ToString(), result.Id.ToString(), recipients.Length, envelope.Sender);
        }
        catch (Exception e)
        {
            metrics.Bounce("error");
            Log.BounceFailed(logger, envelope.Id.ToString(), envelope.Sender, e);
        }
    }

    // The one place a DSN re-enters the MTA: spooled (committed durably) with the null sender to the original sender,
    // before the failure it reports is recorded, so a crash in between sends it twice, never not at all.
    // Through the intake pipeline like every message: no Received header (FastMta wrote it), no size limit.
    private async Task<IntakeResult> InjectAsync(DsnRequest request, string to)
    {
        using IntakeTransaction transaction = _intake.CreateTransaction();
        transaction.SetSender([], []);
        // A non-ASCII sender can only be reached over SMTPUTF8, which the queue derives from the address itself.
        transaction.AddRecipient(Encoding.UTF8.GetBytes(to), []);
        transaction.SetOrigin(string.Empty, options.ReportingMta, null, "DSN");
        transaction.StartContent();
        DsnBuilder.Write(request, transaction.Content);
        IntakeRejection content = transaction.Complete();
        if (content != IntakeRejection.None)
        {
            throw new InvalidOperationException($"The intake pipeline refused a generated DSN's content: {content}.");
        }

        return await transaction.CommitAsync().ConfigureAwait(false);
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
