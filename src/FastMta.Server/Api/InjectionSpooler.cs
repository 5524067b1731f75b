using System.Buffers;
using System.Net;
using System.Text;
using FastMta.Intake;
using MimeKit;

namespace FastMta.Server.Api;

/// <summary>The outcome of spooling one validated message: its id, or why it was refused (Unavailable: why the spool refused it, in words).</summary>
internal readonly record struct SpoolOutcome(string? Id, InjectionError? Error, bool Unavailable, string? UnavailableDetail = null);

/// <summary>
/// Takes a validated message in through the intake pipeline, as an SMTP session does: envelope, Received header
/// ("from api", "with HTTP" or "HTTPA"), the content through the processor chain (X-FastMta-Pool taken out) into the
/// spool's writer (chunks reach the log as they fill), then the durable commit. The id is returned only after the
/// commit, the same promise as SMTP's 250. Any refusal before that abandons the transaction, so nothing partial is
/// ever queued; refusals come back as <see cref="IntakeRejection"/> and are answered by <see cref="IntakeProblems"/>.
/// </summary>
internal sealed class InjectionSpooler(MtaSettings settings, IntakePipeline intake, TimeProvider time, ILogger<InjectionSpooler> logger)
{
    // Received "from" name: an HTTP client has no HELO. "with HTTP" (loopback, no keys) or "HTTPA" (authenticated
    // with an API key), after RFC 3848's ESMTP/ESMTPA; the listener is plain HTTP, so there is no "S" form yet.
    private const string ReceivedFromName = "api";

    public async Task<SpoolOutcome> SpoolAsync(ValidatedMessage message, IPAddress? client, string? apiKeyName, CancellationToken cancellationToken)
    {
        IntakeRejection refusal = intake.Refusal;
        if (refusal != IntakeRejection.None)
        {
            return IntakeProblems.For(refusal, "message"); // not open, out of space, storage failed: before anything is built
        }
        InjectionRequest request = message.Request;
        if (request.Pool is not null && !intake.IsKnownPool(request.Pool))
        {
            return IntakeProblems.For(IntakeRejection.UnknownPool, "pool", request.Pool);
        }
        long max = settings.Inbound.MaxMessageBytes;
        DateTimeOffset now = time.GetUtcNow();
        // Built before the transaction is taken: MimeKit's checks (and any surprise) happen before anything is spooled.
        MimeMessage? mime = request.Content is null ? MessageBuilder.Build(message, settings.Inbound.Hostname, now) : null;
        string form = mime is null ? "content" : "message";
        using IntakeTransaction transaction = intake.CreateTransaction(); // disposed after a commit or abandoned
        transaction.SetPool(request.Pool);
        string protocol = apiKeyName is null ? "HTTP" : "HTTPA";
        transaction.SetOrigin(client?.ToString() ?? "unknown", ReceivedFromName, apiKeyName, protocol);
        transaction.SetSender(message.Sender, SenderParameters(message));
        foreach (byte[] recipient in message.Recipients)
        {
            transaction.AddRecipient(recipient, default);
        }
        transaction.StartContent(now);
        IntakeResult written;
        if (mime is not null)
        {
            var stream = new SpoolStream(transaction, max);
            await MessageBuilder.WriteAsync(mime, stream, cancellationToken);
            if (stream.TooLarge)
            {
                return IntakeProblems.For(IntakeRejection.TooLarge, form, maxMessageBytes: max);
            }
            written = stream.Refused ?? IntakeResult.Accepted(transaction.Id);
        }
        else
        {
            transaction.Content.Write(Encoding.ASCII.GetBytes(MessageBuilder.MissingRawHeaders(request.Content!, settings.Inbound.Hostname, now)));
            // As over SMTP, an X-FastMta-Pool field in the content names the pool and is taken out.
            written = await RawContent.WriteAsync(request.Content!, transaction, cancellationToken);
        }
        if (!written.IsAccepted)
        {
            return Refused(written, client);
        }
        IntakeRejection content = transaction.Complete();
        if (content != IntakeRejection.None)
        {
            return IntakeProblems.For(content, form, transaction.RefusedPool, max);
        }
        IntakeResult result = await transaction.CommitAsync();
        return result.IsAccepted ? new SpoolOutcome(result.Id.ToString(), null, false) : Refused(result, client);
    }

    private SpoolOutcome Refused(IntakeResult result, IPAddress? client)
    {
        if (result.Rejection == IntakeRejection.EnvelopeTooLarge)
        {
            return IntakeProblems.EnvelopeTooLarge(result.Cause!);
        }
        logger.LogWarning(result.Cause, "HTTP API: the spool refused a message from {Client}", client);
        return IntakeProblems.For(result.Rejection, "message");
    }

    // As an SMTP client would have to say it: SMTPUTF8 for a UTF-8 address (RFC 6531), BODY=8BITMIME for 8-bit raw
    // content (RFC 6152); the queue reads both from the stored MAIL parameters.
    private static byte[] SenderParameters(ValidatedMessage message)
    {
        bool eightBit = message.Request.Content is { } content && RawContent.HasEightBit(content);
        string parameters = (eightBit, message.SmtpUtf8) switch
        {
            (true, true) => "BODY=8BITMIME SMTPUTF8",
            (true, false) => "BODY=8BITMIME",
            (false, true) => "SMTPUTF8",
            _ => "",
        };
        return Encoding.ASCII.GetBytes(parameters);
    }
}
