using System.Buffers;
using FastMta.Intake;
using FastMta.Smtp;

namespace FastMta.Inbound;

// The mail transaction: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030) stream the body into the intake transaction
// (FastMta.Intake), whose content chain takes the X-FastMta-Pool field out and whose spool writer moves full chunks to
// the log as they fill, so memory per session stays bounded whatever the message size. 250 is written only after the
// transaction's durable commit (CommitMessageAsync). The framing checks (size while decoding, bare CR/LF) stay here,
// with the codec; their refusals are the intake's IntakeRejection values, answered from one table (IntakeReplies).
internal sealed partial class SmtpSession
{
    private enum ChunkError { None, NeedMail, NeedRcpt, TooLarge, BareLineEnd }

    private IntakeTransaction? _transaction;
    private bool _hasSender;
    private bool _smtpUtf8;
    private DataDecoder _decoder;
    private LineEndChecker _bdatLineEnds;
    private bool _bdatStarted;
    private long _bdatRemaining;
    private bool _bdatLast;
    private long _bdatBodyBytes;
    private ChunkError _bdatError;

    private SessionAction Data(ReadOnlySpan<byte> argument)
    {
        if (!argument.IsEmpty)
        {
            return Reject(SmtpReplies.NoParametersAllowed, "syntax");
        }
        if (!_hasSender)
        {
            return Reject(SmtpReplies.NeedMail, "sequence");
        }
        if (_transaction!.RecipientCount == 0)
        {
            return Reject(SmtpReplies.NeedRcpt, "sequence");
        }
        if (_bdatStarted)
        {
            return Reject(SmtpReplies.DataAfterBdat, "sequence");
        }
        _transaction.StartContent(_server.Time.GetUtcNow());
        _decoder.Reset(_options.MaxMessageBytes);
        _mode = InputMode.Data;
        return Reply(SmtpReplies.StartMailInput);
    }

    private SessionAction FinishData()
    {
        _mode = InputMode.Command;
        if (_decoder.TooLarge)
        {
            ResetTransaction();
            return RejectIntake(IntakeRejection.TooLarge);
        }
        if (_decoder.SawBareLineFeed || _decoder.SawBareCarriageReturn)
        {
            // SMTP smuggling defence (CVE-2023-51764): a bare LF or CR is never a line end, and a message containing
            // one is refused rather than relayed to a receiver that might read it differently ("\r.\r\n" as the
            // end of data, say, with the smuggled commands after it).
            return RefuseBareLineEnd(_decoder.SawBareLineFeed, endOfMessage: true);
        }
        return CompleteContent();
    }

    // BDAT's chunk bytes always follow the command, even when the command is refused: they are read and discarded
    // so they are never taken for commands (RFC 3030 2).
    private SessionAction Bdat(ReadOnlySpan<byte> argument)
    {
        if (!PathParser.TryParseBdat(argument, out long size, out bool last))
        {
            return Reject(SmtpReplies.BdatSyntax, "syntax");
        }
        _bdatRemaining = size;
        _bdatLast = last;
        _mode = InputMode.Bdat;
        _bdatError = !_hasSender ? ChunkError.NeedMail
            : _transaction!.RecipientCount == 0 ? ChunkError.NeedRcpt
            : _bdatError is ChunkError.TooLarge or ChunkError.BareLineEnd ? _bdatError
            : ChunkError.None;
        if (_bdatError == ChunkError.None && !_bdatStarted)
        {
            _bdatStarted = true;
            _bdatLineEnds.Reset();
            _transaction!.StartContent(_server.Time.GetUtcNow());
        }
        return SessionAction.Continue;
    }

    // True once the whole chunk has been consumed.
    private bool ConsumeBdatChunk(ref SequenceReader<byte> reader)
    {
        while (_bdatRemaining > 0 && !reader.End)
        {
            ReadOnlySpan<byte> span = reader.UnreadSpan;
            int take = (int)Math.Min(span.Length, _bdatRemaining);
            if (_bdatError == ChunkError.None)
            {
                _bdatBodyBytes += take;
                if (_bdatBodyBytes > _options.MaxMessageBytes)
                {
                    _bdatError = ChunkError.TooLarge;
                }
                else
                {
                    // The same content policy as DATA's, checked before the bytes go to the spool: from the first
                    // bare line end on, the rest of the message is read and dropped, and it is refused after its
                    // chunk (a chunk cannot be interrupted).
                    _bdatLineEnds.Check(span[..take]);
                    if (_bdatLineEnds.SawBareLineEnd)
                    {
                        _bdatError = ChunkError.BareLineEnd;
                    }
                    else
                    {
                        _transaction!.Content.Write(span[..take]);
                    }
                }
            }
            reader.Advance(take);
            _bdatRemaining -= take;
        }
        return _bdatRemaining == 0;
    }

    private SessionAction FinishBdatChunk()
    {
        _mode = InputMode.Command;
        if (_bdatLast && _bdatError == ChunkError.None)
        {
            _bdatLineEnds.Complete(); // a CR ending the last chunk is bare
            if (_bdatLineEnds.SawBareLineEnd)
            {
                _bdatError = ChunkError.BareLineEnd;
            }
        }
        switch (_bdatError)
        {
            case ChunkError.NeedMail:
                return Reject(SmtpReplies.NeedMail, "sequence");
            case ChunkError.NeedRcpt:
                return Reject(SmtpReplies.NeedRcpt, "sequence");
            case ChunkError.TooLarge:
                if (_bdatLast)
                {
                    ResetTransaction();
                }
                return RejectIntake(IntakeRejection.TooLarge);
            case ChunkError.BareLineEnd:
                return RefuseBareLineEnd(_bdatLineEnds.SawBareLineFeed, endOfMessage: _bdatLast);
        }
        if (_bdatLast)
        {
            return CompleteContent();
        }
        ReplyWriter.Write(_output, SmtpReplies.BdatChunkPrefix, _bdatBodyBytes);
        return SessionAction.Continue;
    }

    // One policy for DATA and BDAT: content with a bare LF or CR is refused with 554 5.6.0 and never spooled (the chunks
    // already in the log become orphans). A message with both is reported as bare LF. With BDAT every chunk from the
    // one that had it to the LAST one is refused, and the transaction ends with the LAST one (as for size).
    private SessionAction RefuseBareLineEnd(bool bareLineFeed, bool endOfMessage)
    {
        IntakeRejection rejection = bareLineFeed ? IntakeRejection.BareLineFeed : IntakeRejection.BareCarriageReturn;
        Log.BareLineEndRefused(_server.Logger, _connection.RemoteEndPoint, _connection.ConnectionId, IntakeReplies.Reason(rejection));
        if (endOfMessage)
        {
            ResetTransaction();
        }
        return RejectIntake(rejection);
    }

    // The body is complete: the content processors decide (the pool it named goes into the envelope, or the message is
    // refused when no such pool is configured), then it is committed.
    private SessionAction CompleteContent()
    {
        IntakeRejection rejection = _transaction!.Complete();
        if (rejection == IntakeRejection.None)
        {
            return SessionAction.CommitMessage;
        }
        ResetTransaction();
        return RejectIntake(rejection);
    }

    // Pooled builder: every message suspends here for the group commit, and a Task state machine would be allocated
    // for each one.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SessionAction> CommitMessageAsync()
    {
        IntakeTransaction transaction = _transaction!;
        IntakeResult result = await transaction.CommitAsync();
        if (!result.IsAccepted)
        {
            if (result.Rejection == IntakeRejection.EnvelopeTooLarge)
            {
                // As before the intake pipeline: the envelope that fits no spool page ends the session as a failure.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(result.Cause!);
            }
            if (result.Cause is FastMta.Spool.SpoolUnavailableException spool)
            {
                Log.SpoolUnavailable(_server.Logger, spool, _connection.RemoteEndPoint, _connection.ConnectionId, spool.Reason);
            }
            else if (result.Cause is not null)
            {
                Log.LocalMailboxFailed(_server.Logger, result.Cause, _connection.RemoteEndPoint, _connection.ConnectionId);
            }
            ResetTransaction();
            return RejectIntake(result.Rejection);
        }
        _server.Metrics.MessageAccepted(transaction.BodyLength, transaction.RecipientCount);
        if (_server.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
        {
            Log.MessageAccepted(_server.Logger, result.Id.ToString(), _connection.RemoteEndPoint,
                transaction.RecipientCount, transaction.BodyLength);
        }
        Span<byte> id = stackalloc byte[32];
        result.Id.TryFormat(id, out int written);
        ReplyWriter.Write(_output, SmtpReplies.QueuedAsPrefix, id[..written]);
        ResetTransaction();
        return SessionAction.Continue;
    }

    // The intake's refusal as a reply: the client's own (counted toward MaxErrors) or a temporary one of the spool's.
    private SessionAction RejectIntake(IntakeRejection rejection)
    {
        if (IntakeReplies.IsClientError(rejection))
        {
            return Reject(IntakeReplies.Reply(rejection), IntakeReplies.Reason(rejection));
        }
        _server.Metrics.Rejected(IntakeReplies.Reason(rejection));
        return Reply(IntakeReplies.Reply(rejection));
    }

    // Forgets the transaction (RSET, EHLO, after 250 or a refused message). The pooled writer is kept for the next
    // MAIL; Reset gives it a fresh id and turns any chunks already logged into orphans that readers skip.
    private void ResetTransaction()
    {
        _transaction?.Reset();
        _hasSender = false;
        _smtpUtf8 = false;
        _bdatStarted = false;
        _bdatBodyBytes = 0;
        _bdatError = ChunkError.None;
        _bdatLineEnds.Reset();
    }
}
