using System.Buffers;
using FastMta.Queue;
using FastMta.Smtp;
using FastMta.Spool;

namespace FastMta.Outbound;

// One mail transaction (RFC 5321 3.3) on an established connection: MAIL, RCPT..., then BDAT (RFC 3030, body sent
// untouched) or DATA (body dot-stuffed while written). With PIPELINING (RFC 2920 3.1) MAIL, every RCPT and DATA go
// out in one write and the replies are read in order afterwards.
public sealed partial class OutboundConnection
{
    // Flush at least this often while writing a body, so the pipe never holds much more than this.
    private const int BodyFlushThreshold = 64 * 1024;

    private bool _mailAnswered; // the current transaction got a reply to MAIL FROM

    /// <summary>
    /// Runs one transaction and maps every reply to per-recipient results. Never throws for delivery problems:
    /// a connection failure defers the recipients not yet settled and leaves the connection unusable. Throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<TransactionOutcome> SendAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        var results = new RecipientResult?[request.Recipients.Count];
        if (LocalRefusal(request) is RecipientResult refusal)
        {
            Array.Fill(results, refusal);
            return new TransactionOutcome(Settled(results, null), null, Started: false);
        }

        BeginOperation(cancellationToken);
        try
        {
            Transactions++;
            await RunAsync(request, results);
            return new TransactionOutcome(Settled(results, null), null, Started: true);
        }
        catch (Exception e) when (Translate(e) is { } failure)
        {
            _metrics.ConnectionFailed(failure.Reason);
            Log.ConnectionFailed(_logger, HostName, RemoteEndPoint, failure.Reason, failure.Message);
            return new TransactionOutcome(Settled(results, failure), failure, _mailAnswered);
        }
        finally
        {
            _mailAnswered = false;
            EndOperation();
        }
    }


    // SIZE (RFC 1870 4) and SMTPUTF8 (RFC 6531 3.4) checks that fail the message without sending anything.
    private RecipientResult? LocalRefusal(DeliveryRequest request)
    {
        EhloCapabilities capabilities = Capabilities;
        if (request.RequiresSmtpUtf8 && !capabilities.SmtpUtf8)
        {
            return new RecipientResult(RecipientOutcome.Failed, 553, "5.6.7",
                $"SMTPUTF8 is required, but was not offered by host {HostName}[{RemoteEndPoint}]");
        }
        if (capabilities.MaxMessageSize > 0 && request.Body.Length > capabilities.MaxMessageSize)
        {
            return new RecipientResult(RecipientOutcome.Failed, 552, "5.3.4",
                $"message size {request.Body.Length} exceeds the limit of {capabilities.MaxMessageSize} of host {HostName}[{RemoteEndPoint}]");
        }
        return null;
    }

    private async Task RunAsync(DeliveryRequest request, RecipientResult?[] results)
    {
        EhloCapabilities capabilities = Capabilities;
        bool pipelining = capabilities.Pipelining;
        bool chunking = capabilities.Chunking;
        IReadOnlyList<string> recipients = request.Recipients;

        ClientCommandWriter.WriteMailFrom(_writer, request.Sender,
            size: capabilities.Size ? request.Body.Length : null,
            eightBitMime: request.EightBitMime && capabilities.EightBitMime,
            smtpUtf8: request.RequiresSmtpUtf8);
        if (pipelining)
        {
            foreach (string recipient in recipients)
            {
                ClientCommandWriter.WriteRcptTo(_writer, recipient);
            }
            if (!chunking)
            {
                ClientCommandWriter.WriteData(_writer);
            }
        }
        await FlushAsync(_options.MailFromTimeout, "sending MAIL FROM");

        SmtpReply mail = await ReadReplyAsync(_options.MailFromTimeout, "waiting for the MAIL FROM reply");
        _mailAnswered = true;
        if (!mail.IsPositive && !pipelining)
        {
            Array.Fill(results, Map(mail));
            return; // No transaction was opened, so nothing to reset.
        }

        int accepted = 0;
        for (int i = 0; i < recipients.Count; i++)
        {
            if (!pipelining)
            {
                ClientCommandWriter.WriteRcptTo(_writer, recipients[i]);
                await FlushAsync(_options.RcptTimeout, "sending RCPT TO");
            }
            SmtpReply rcpt = await ReadReplyAsync(_options.RcptTimeout, "waiting for the RCPT TO reply");
            if (!mail.IsPositive)
            {
                continue; // RFC 2920 3.1: replies to commands after a failed MAIL are read and ignored.
            }
            if (rcpt.IsPositive)
            {
                accepted++;
            }
            else
            {
                results[i] = Map(rcpt);
            }
        }
        if (!mail.IsPositive)
        {
            Array.Fill(results, Map(mail));
        }

        SmtpReply? final = chunking
            ? await SendBdatAsync(request, accepted > 0 && mail.IsPositive)
            : await SendDataAsync(request, pipelining, accepted > 0 && mail.IsPositive);
        if (final is not null)
        {
            RecipientResult outcome = Map(final);
            for (int i = 0; i < results.Length; i++)
            {
                results[i] ??= outcome;
            }
        }
        if (final is null || !final.IsPositive)
        {
            await ResetAsync();
        }
    }

    // DATA (RFC 5321 4.1.1.4). Returns the reply that settles the accepted recipients: the end-of-data reply, or
    // the refusal of DATA itself; null when nothing was sent.
    private async Task<SmtpReply?> SendDataAsync(DeliveryRequest request, bool pipelined, bool send)
    {
        SmtpReply data;
        if (pipelined)
        {
            data = await ReadReplyAsync(_options.DataInitTimeout, "waiting for the DATA reply");
        }
        else
        {
            if (!send)
            {
                return null;
            }
            ClientCommandWriter.WriteData(_writer);
            await FlushAsync(_options.DataInitTimeout, "sending DATA");
            data = await ReadReplyAsync(_options.DataInitTimeout, "waiting for the DATA reply");
        }
        if (!data.IsIntermediate)
        {
            return send ? data : null;
        }
        if (!send)
        {
            // RFC 2920 3.1: a server that answers 354 although no recipient was accepted gets an empty message,
            // which it cannot deliver to anyone; its reply settles nothing.
            _writer.Write(".\r\n"u8);
            await FlushAsync(_options.DataBlockTimeout, "sending the end of data");
            await ReadReplyAsync(_options.DataTerminationTimeout, "waiting for the end-of-data reply");
            return null;
        }
        await WriteStuffedBodyAsync(request.Body, request.MessageId);
        return await ReadReplyAsync(_options.DataTerminationTimeout, "waiting for the end-of-data reply");
    }

    // The body as spooled, read from the spool one entry at a time and dot-stuffed piece by piece straight into the
    // pipe (no copy of the whole message); the stuffer also adds the CRLF a body without a final one needs before the
    // terminating ".".
    private async Task WriteStuffedBodyAsync(MessageBody body, SpoolMessageId messageId)
    {
        var stuffer = new DotStuffer();
        long unflushed = 0;
        body.Rewind(); // a previous host of this attempt may have read some of it
        while (true)
        {
            ReadOnlyMemory<byte> segment = await ReadBodyAsync(body);
            if (segment.IsEmpty)
            {
                break;
            }
            for (int offset = 0; offset < segment.Length; offset += BodyFlushThreshold)
            {
                ReadOnlyMemory<byte> piece = segment.Slice(offset, Math.Min(BodyFlushThreshold, segment.Length - offset));
                stuffer.Write(piece.Span, _writer);
                unflushed += piece.Length;
                if (unflushed >= BodyFlushThreshold)
                {
                    await FlushAsync(_options.DataBlockTimeout, "sending the message body");
                    unflushed = 0;
                }
            }
        }
        int bareLineEnds = stuffer.Complete(_writer);
        if (bareLineEnds > 0)
        {
            // Only an older spool can hold such a body (bare CR and LF are refused on the way in); they went out as CRLF.
            _metrics.BareLineEndsRewritten();
            Log.BareLineEndsRewritten(_logger, messageId.ToString(), HostName, RemoteEndPoint, bareLineEnds);
        }
        await FlushAsync(_options.DataBlockTimeout, "sending the end of data");
    }

    // BDAT (RFC 3030 2): the stored bytes go out untouched, in chunks of BdatChunkSize; each chunk's reply is read
    // before the next is sent. The chunk sizes come from the body's length; the bytes are read from the spool as they
    // are sent, a spool entry at a time (an entry may span two BDAT chunks). Returns the reply that settles the
    // accepted recipients; null when nothing was sent.
    private async Task<SmtpReply?> SendBdatAsync(DeliveryRequest request, bool send)
    {
        if (!send)
        {
            return null;
        }
        MessageBody body = request.Body;
        body.Rewind();
        long chunkSize = Math.Max(1, _options.BdatChunkSize);
        long offset = 0;
        ReadOnlyMemory<byte> pending = ReadOnlyMemory<byte>.Empty; // read from the spool, not yet sent
        while (true)
        {
            long size = Math.Min(chunkSize, body.Length - offset);
            bool last = offset + size == body.Length;
            ClientCommandWriter.WriteBdat(_writer, size, last);
            pending = await WriteRawAsync(body, size, pending);
            SmtpReply reply = last
                ? await ReadReplyAsync(_options.DataTerminationTimeout, "waiting for the BDAT LAST reply")
                : await ReadReplyAsync(_options.DataBlockTimeout, "waiting for a BDAT chunk reply");
            if (last || !reply.IsPositive)
            {
                return reply;
            }
            offset += size;
        }
    }

    // Sends exactly `size` body bytes: what is left of the previous entry first, then entries read from the spool.
    // Returns the unsent rest of the last entry read (it belongs to the next BDAT chunk).
    private async Task<ReadOnlyMemory<byte>> WriteRawAsync(MessageBody body, long size, ReadOnlyMemory<byte> pending)
    {
        long unflushed = 0;
        long remaining = size;
        while (remaining > 0)
        {
            if (pending.IsEmpty)
            {
                pending = await ReadBodyAsync(body);
                if (pending.IsEmpty)
                {
                    throw BodyReadFailure(new InvalidOperationException($"the body ended {remaining} bytes short of its length {body.Length}"));
                }
            }
            int n = (int)Math.Min(Math.Min(remaining, pending.Length), BodyFlushThreshold);
            _writer.Write(pending.Span[..n]);
            pending = pending[n..];
            remaining -= n;
            unflushed += n;
            if (unflushed >= BodyFlushThreshold)
            {
                await FlushAsync(_options.DataBlockTimeout, "sending the message body");
                unflushed = 0;
            }
        }
        await FlushAsync(_options.DataBlockTimeout, "sending the message body");
        return pending;
    }

    // The next piece of the body from the spool. A body that cannot be read fails the connection (it is in the middle
    // of DATA or BDAT: ending the data now would deliver a truncated message) and defers the recipients.
    private async ValueTask<ReadOnlyMemory<byte>> ReadBodyAsync(MessageBody body)
    {
        _phase = "reading the message from the spool";
        _operation!.CancelAfter(_options.DataBlockTimeout);
        try
        {
            return await body.ReadAsync(_operation.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw BodyReadFailure(e);
        }
    }

    private OutboundConnectionException BodyReadFailure(Exception e) =>
        new("body_read", 451, "4.3.0", $"the message could not be read from the spool while sending it to {HostName}[{RemoteEndPoint}]: {e.Message}", e);

    private async Task ResetAsync()
    {
        ClientCommandWriter.WriteRset(_writer);
        await FlushAsync(_options.MailFromTimeout, "sending RSET");
        SmtpReply reply = await ReadReplyAsync(_options.MailFromTimeout, "waiting for the RSET reply");
        if (!reply.IsPositive)
        {
            _broken = true; // A session that cannot reset cannot be trusted with the next message.
        }
    }

    private static RecipientResult Map(SmtpReply reply)
    {
        RecipientOutcome outcome = reply.IsPositive ? RecipientOutcome.Delivered
            : reply.IsPermanent ? RecipientOutcome.Failed
            : RecipientOutcome.Deferred;
        string enhanced = reply.Code is >= 200 and < 600 && reply.Code / 100 != 3 ? reply.EnhancedStatusOrDefault : "4.0.0";
        return new RecipientResult(outcome, reply.Code, enhanced, reply.Text);
    }

    // Recipients still unsettled get the connection failure (deferred).
    private static RecipientResult[] Settled(RecipientResult?[] results, OutboundConnectionException? failure)
    {
        var settled = new RecipientResult[results.Length];
        for (int i = 0; i < results.Length; i++)
        {
            settled[i] = results[i] ?? (failure is not null
                ? new RecipientResult(RecipientOutcome.Deferred, failure.ReplyCode, failure.EnhancedStatus, failure.Message)
                : new RecipientResult(RecipientOutcome.Deferred, 451, "4.3.0", "no reply settled this recipient"));
        }
        return settled;
    }
}
