using System.Net;
using System.Text;
using FastMta.Smtp;
using FastMta.Spool;

namespace FastMta.Inbound;

// Command handlers: codec in, reply out, no I/O. Replies come from the one table in SmtpReplies.
internal sealed partial class SmtpSession
{
    private readonly bool _relayAllowed;
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
        if (_server.Spool.Unavailable is { IsLatched: true } unavailable)
        {
            return RejectUnavailable(unavailable); // out of space (or storage failed): say so before the body is sent
        }
        _transaction ??= _server.Spool.CreateWriter();
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
        if (command.IsPostmaster)
        {
            return Reject(SmtpReplies.NoLocalMailboxes, "no_local_mailboxes");
        }
        if (!_relayAllowed && _authUser is null)
        {
            return Reject(SmtpReplies.RelayDenied, "relay_denied");
        }
        if (_server.Spool.Unavailable is { IsLatched: true } unavailable)
        {
            return RejectUnavailable(unavailable);
        }
        if (_transaction!.RecipientCount >= _options.MaxRecipients)
        {
            // RFC 5321 4.5.3.1.10: 452 asks the client to send the rest in another transaction; not a client error.
            _server.Metrics.Rejected("too_many_recipients");
            return Reply(SmtpReplies.TooManyRecipients);
        }
        _transaction.AddRecipient(command.Address, command.Parameters);
        return Reply(SmtpReplies.RecipientOk);
    }

    // The spool's refusal, by reason: no space is RFC 3463's 4.3.1 (452, as RFC 5321 has it for insufficient
    // storage); the rest (back-pressure, storage error, shutting down) stay 451 4.3.0. A transient reply: not
    // counted as a client error.
    private SessionAction RejectUnavailable(SpoolUnavailableException unavailable)
    {
        bool noSpace = unavailable.Reason == SpoolUnavailableReason.NoSpace;
        _server.Metrics.Rejected(noSpace ? "spool_no_space" : "spool_unavailable");
        return Reply(noSpace ? SmtpReplies.InsufficientStorage : SmtpReplies.SpoolUnavailable);
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
