using System.Buffers;
using System.Net;
using System.Text;
using FastMta.Inbound;
using FastMta.Smtp;
using FastMta.Spool;
using MimeKit;

namespace FastMta.Server.Api;

/// <summary>The outcome of spooling one validated message: its id, or why it was refused (Unavailable: why the spool refused it, in words).</summary>
internal readonly record struct SpoolOutcome(string? Id, InjectionError? Error, bool Unavailable, string? UnavailableDetail = null);

/// <summary>
/// Writes a validated message into the spool exactly as an SMTP session does: envelope, Received header, body
/// through the pooled <see cref="MessageWriter"/> (chunks reach the log as they fill), then a durable commit. The id
/// is returned only after <see cref="MessageWriter.CommitAsync"/>, the same promise as SMTP's 250. Any failure
/// before that abandons the writer, so nothing partial is ever queued.
/// </summary>
internal sealed class InjectionSpooler(MtaSettings settings, SpoolService spool, DeliveryService delivery, TimeProvider time,
    ILogger<InjectionSpooler> logger)
{
    // Received "from" name: an HTTP client has no HELO. "with HTTP" (loopback, no keys) or "HTTPA" (authenticated
    // with an API key), after RFC 3848's ESMTP/ESMTPA; the listener is plain HTTP, so there is no "S" form yet.
    private const string ReceivedFromName = "api";
    private readonly byte[] _hostname = Encoding.ASCII.GetBytes(settings.Inbound.Hostname);

    public async Task<SpoolOutcome> SpoolAsync(ValidatedMessage message, IPAddress? client, string? apiKeyName, CancellationToken cancellationToken)
    {
        if (!spool.IsOpen)
        {
            return new SpoolOutcome(null, null, Unavailable: true);
        }
        if (spool.Spool.Unavailable is { IsLatched: true } latched)
        {
            return Refused(latched); // out of space (or storage failed): refuse before the body is built and written
        }
        InjectionRequest request = message.Request;
        if (request.Pool is not null && !delivery.IsKnownPool(request.Pool))
        {
            return new SpoolOutcome(null, UnknownPool("pool", request.Pool), false);
        }
        long max = settings.Inbound.MaxMessageBytes;
        DateTimeOffset now = time.GetUtcNow();
        // Built before the writer is taken: MimeKit's checks (and any surprise) happen before anything is spooled.
        MimeMessage? mime = request.Content is null ? MessageBuilder.Build(message, settings.Inbound.Hostname, now) : null;
        MessageWriter writer = spool.Spool.CreateWriter();
        try
        {
            writer.SetPool(request.Pool);
            string protocol = apiKeyName is null ? "HTTP" : "HTTPA";
            writer.SetOrigin(client?.ToString() ?? "unknown", ReceivedFromName, apiKeyName, protocol);
            writer.SetSender(message.Sender, SenderParameters(message));
            foreach (byte[] recipient in message.Recipients)
            {
                writer.AddRecipient(recipient, default);
            }
            WriteReceivedHeader(writer, client, protocol, now);
            long contentStart = writer.BodyLength;
            if (mime is not null)
            {
                var stream = new SpoolStream(writer, max);
                await MessageBuilder.WriteAsync(mime, stream, cancellationToken);
                if (stream.TooLarge)
                {
                    return new SpoolOutcome(null, InjectionValidator.TooLarge("message", max), false);
                }
            }
            else
            {
                writer.Write(Encoding.ASCII.GetBytes(MessageBuilder.MissingRawHeaders(request.Content!, settings.Inbound.Hostname, now)));
                // As over SMTP, an X-FastMta-Pool field in the content names the pool and is taken out.
                using var poolHeader = new HeaderFieldStripper(SmtpServerContext.PoolHeaderName);
                poolHeader.Reset(writer);
                await RawContent.WriteAsync(request.Content!, poolHeader, writer, cancellationToken);
                poolHeader.Complete();
                if (poolHeader.Found)
                {
                    if (poolHeader.Value is not { Length: > 0 } named || !delivery.IsKnownPool(named))
                    {
                        return new SpoolOutcome(null, UnknownPool("content", poolHeader.Value ?? ""), false);
                    }
                    writer.SetPool(named);
                }
            }
            if (writer.BodyLength - contentStart > max)
            {
                return new SpoolOutcome(null, InjectionValidator.TooLarge(mime is null ? "content" : "message", max), false);
            }
            // Not cancelled by the client going away: once the body is complete it is committed or refused.
            await writer.CommitAsync(CancellationToken.None);
            return new SpoolOutcome(writer.Id.ToString(), null, false);
        }
        catch (SpoolUnavailableException ex)
        {
            logger.LogWarning(ex, "HTTP API: the spool refused a message from {Client}", client);
            return Refused(ex);
        }
        catch (SpoolEnvelopeTooLargeException ex)
        {
            // The envelope (recipients) does not fit one spool page.
            return new SpoolOutcome(null, new InjectionError(StatusCodes.Status413PayloadTooLarge, "The message is too large.",
                new Dictionary<string, string[]> { ["recipients"] = [ex.Message] }), false);
        }
        finally
        {
            writer.Dispose(); // after a commit: back to the pool; otherwise the transaction is abandoned
        }
    }

    // 503 with Retry-After for every spool refusal, a full disk included (rather than WebDAV's 507, which HTTP
    // clients do not treat as "retry later"); the detail says which.
    private static SpoolOutcome Refused(SpoolUnavailableException ex) => new(null, null, Unavailable: true, ex.Reason switch
    {
        SpoolUnavailableReason.NoSpace => "The spool is out of disk space (insufficient system storage); retry later.",
        SpoolUnavailableReason.StorageFailed => "The spool's storage is failing; retry later.",
        SpoolUnavailableReason.ShuttingDown => "The server is shutting down; retry later.",
        _ => "The spool is not accepting messages now; retry later.",
    });

    private static InjectionError UnknownPool(string field, string name) =>
        new(StatusCodes.Status400BadRequest, "The message is invalid.",
            new Dictionary<string, string[]> { [field] = [$"no egress pool named '{name}' is configured (Mta:Egress:Pools)"] });

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

    private void WriteReceivedHeader(MessageWriter writer, IPAddress? client, string protocol, DateTimeOffset now)
    {
        Span<byte> id = stackalloc byte[32];
        writer.Id.TryFormat(id, out int written);
        ReceivedHeader.Write(writer, ReceivedFromName, client, _hostname, protocol, id[..written], now);
    }
}
