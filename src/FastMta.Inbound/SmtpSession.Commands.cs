using System.Net;
using System.Text;
using FastMta.Intake;
using FastMta.Smtp;
using FastMta.Spool;

namespace FastMta.Inbound;

// Command handlers: codec in, reply out, no I/O. Replies come from the one table in SmtpReplies.
internal sealed partial class SmtpSession
{
    private readonly bool _relayAllowed;
    private readonly byte[] _recipientScratch; // the RCPT being decided: its address, then its parameters
    private int _pendingAddressLength;
    private int _pendingParametersLength;
    private ValueTask<RecipientVerdict> _pendingRecipient;
    private string? _heloName;
    private bool _esmtp;

    private SessionAction HandleLine(LineStatus status, ReadOnlySpan<byte> line)
    {
        if (status == LineStatus.TooLong)
        {
            return Reject(SmtpReplies.LineTooLong, "line_too_long");
        }
        if (status == LineStatus.BareLineFeed)
        {
            return Reject(SmtpReplies.BareLineFeedInCommand, "bare_lf");
        }
        if (CommandParser.ContainsForbiddenControl(line))
        {
            return Reject(SmtpReplies.ControlCharacterInCommand, "control_character");
        }

        SmtpVerb verb = CommandParser.ParseVerb(line, out ReadOnlySpan<byte> argument);
        _server.Metrics.Command(verb);
        return verb switch
        {
            SmtpVerb.Ehlo => Hello(argument, esmtp: true),
            SmtpVerb.Helo => Hello(argument, esmtp: false),
            SmtpVerb.Mail => Mail(argument),
            SmtpVerb.Rcpt => Rcpt(argument),
            SmtpVerb.Data => Data(argument),
            SmtpVerb.Bdat => Bdat(argument),
            SmtpVerb.Rset => Rset(),
            SmtpVerb.Noop => Reply(SmtpReplies.Ok),
            SmtpVerb.Quit => SessionAction.Quit,
            SmtpVerb.Vrfy => Reply(SmtpReplies.CannotVrfy),  // RFC 5321 3.5.3: 252, never reveal mailboxes
            SmtpVerb.Expn => Reject(SmtpReplies.ExpnNotImplemented, "expn"),
            SmtpVerb.Help => Reply(SmtpReplies.Help),
            SmtpVerb.StartTls => StartTls(argument),
            SmtpVerb.Auth => Auth(argument),
            _ => Reject(SmtpReplies.CommandUnrecognized, "unknown_command"),
        };
    }

    private SessionAction Hello(ReadOnlySpan<byte> argument, bool esmtp)
    {
        if (!PathParser.TryParseHeloDomain(argument, out ReadOnlySpan<byte> domain))
        {
            return Reject(SmtpReplies.HeloSyntax, "helo_syntax");
        }
        ResetTransaction(); // RFC 5321 4.1.4: EHLO/HELO resets the transaction like RSET
        _heloName = Encoding.UTF8.GetString(domain);
        _esmtp = esmtp;
        if (!esmtp)
        {
            return Reply(_server.HeloReply);
        }
        bool offerTls = _options.Certificate is not null && _tls is null;
        return Reply(_server.EhloReply(offerTls, offerAuth: AuthOffered));
    }

    private SessionAction Mail(ReadOnlySpan<byte> argument)
    {
        if (_heloName is null)
        {
            return Reject(SmtpReplies.SendHeloFirst, "sequence");
        }
        if (_hasSender)
        {
            return Reject(SmtpReplies.NestedMail, "sequence");
        }
        PathStatus status = PathParser.TryParseMailFrom(argument, out MailFromCommand command);
        if (status != PathStatus.Ok)
        {
            return RejectPath(status, isSender: true);
        }
        if (command.DeclaredSize > _options.MaxMessageBytes)
        {
            return Reject(SmtpReplies.MessageTooBig, "size"); // RFC 1870 6.1: refuse early, before the data is sent
        }
        IntakeRejection refusal = _server.Intake.Refusal;
        if (refusal != IntakeRejection.None)
        {
            return RejectIntake(refusal); // out of space (or storage failed): say so before the body is sent
        }
        _transaction ??= _server.Intake.CreateTransaction();
        _transaction.SetOrigin(ClientText, _heloName, _authUser, Protocol);
        _transaction.SetSender(command.Address, command.Parameters, (command.SmtpUtf8 ? EnvelopeFlags.SmtpUtf8 : EnvelopeFlags.None) | (command.Body == BodyType.EightBitMime ? EnvelopeFlags.EightBitMime : EnvelopeFlags.None));
        _smtpUtf8 = command.SmtpUtf8;
        _hasSender = true;
        return Reply(SmtpReplies.SenderOk);
    }

    private SessionAction Rcpt(ReadOnlySpan<byte> argument)
    {
        if (!_hasSender)
        {
            return Reject(SmtpReplies.NeedMail, "sequence");
        }
        PathStatus status = PathParser.TryParseRcptTo(argument, _smtpUtf8, out RcptToCommand command);
        if (status != PathStatus.Ok)
        {
            return RejectPath(status, isSender: false);
        }
        // The recipient policy decides (by default: local domains, then the relay rule); its input is copied so that
        // a policy that completes later still sees it after the input buffer has moved on.
        command.Address.CopyTo(_recipientScratch);
        command.Parameters.CopyTo(_recipientScratch.AsSpan(command.Address.Length));
        _pendingAddressLength = command.Address.Length;
        _pendingParametersLength = command.Parameters.Length;
        ValueTask<RecipientVerdict> verdict = _server.RecipientPolicy.EvaluateAsync(new RecipientRequest
        {
            Address = _recipientScratch.AsMemory(0, _pendingAddressLength),
            Sender = _transaction!.Sender,
            IsPostmaster = command.IsPostmaster,
            Client = _clientAddress,
            ClientInRelayNetworks = _relayAllowed,
            AuthenticatedUser = _authUser,
        }, _connection.ConnectionClosed);
        if (verdict.IsCompletedSuccessfully)
        {
            return AcceptRecipient(verdict.Result);
        }
        _pendingRecipient = verdict;
        return SessionAction.CheckRecipient; // the loop awaits it, then calls AcceptRecipient
    }

    // The policy's verdict on the pending RCPT, then the spool and recipient-count checks that hold for every recipient.
    private SessionAction AcceptRecipient(RecipientVerdict verdict)
    {
        _pendingRecipient = default;
        switch (verdict.Decision)
        {
            case RecipientDecision.Reject:
                return Reject(verdict.Reply.Span, verdict.Reason ?? "recipient_policy");
            case RecipientDecision.Abstain:
                return Reject(SmtpReplies.RelayDenied, "relay_denied"); // no policy took it: fail closed
        }
        IntakeRejection refusal = _server.Intake.Refusal;
        if (refusal != IntakeRejection.None)
        {
            return RejectIntake(refusal);
        }
        if (_transaction!.RecipientCount >= _options.MaxRecipients)
        {
            // RFC 5321 4.5.3.1.10: 452 asks the client to send the rest in another transaction; not a client error.
            _server.Metrics.Rejected("too_many_recipients");
            return Reply(SmtpReplies.TooManyRecipients);
        }
        ReadOnlySpan<byte> address = _recipientScratch.AsSpan(0, _pendingAddressLength);
        if (verdict.Decision == RecipientDecision.Local)
        {
            _transaction.AddLocalRecipient(address, verdict.Mailbox!);
        }
        else
        {
            _transaction.AddRecipient(address, _recipientScratch.AsSpan(_pendingAddressLength, _pendingParametersLength));
        }
        return Reply(SmtpReplies.RecipientOk);
    }

    private SessionAction RejectPath(PathStatus status, bool isSender) => status switch
    {
        PathStatus.BadAddress => Reject(isSender ? SmtpReplies.BadSenderAddress : SmtpReplies.BadRecipientAddress, "bad_address"),
        PathStatus.UnknownParameter => Reject(SmtpReplies.UnknownParameter, "unknown_parameter"),
        PathStatus.BadParameterValue => Reject(SmtpReplies.BadParameterValue, "bad_parameter"),
        PathStatus.NonAsciiWithoutSmtpUtf8 => Reject(SmtpReplies.NonAsciiNeedsSmtpUtf8, "needs_smtputf8"),
        _ => Reject(isSender ? SmtpReplies.MailSyntax : SmtpReplies.RcptSyntax, "path_syntax"),
    };

    private SessionAction Rset()
    {
        ResetTransaction();
        return Reply(SmtpReplies.Ok);
    }

    private SessionAction StartTls(ReadOnlySpan<byte> argument)
    {
        if (_tls is not null)
        {
            return Reject(SmtpReplies.TlsAlreadyActive, "sequence");
        }
        if (_options.Certificate is null)
        {
            return Reject(SmtpReplies.TlsNotAvailable, "tls_unavailable");
        }
        if (!argument.IsEmpty)
        {
            return Reject(SmtpReplies.NoParametersAllowed, "syntax");
        }
        ReplyWriter.Write(_output, SmtpReplies.ReadyToStartTls);
        return SessionAction.StartTls;
    }

    // RFC 3848 "with" keywords for the Received header.
    private string Protocol => (_esmtp, _tls is not null, _authUser is not null) switch
    {
        (false, _, _) => "SMTP",
        (true, false, false) => "ESMTP",
        (true, true, false) => "ESMTPS",
        (true, false, true) => "ESMTPA",
        (true, true, true) => "ESMTPSA",
    };
}
