namespace FastMta.Intake;

/// <summary>The local recipients of one message, grouped by mailbox at delivery, and the copy of its content they get.</summary>
internal sealed class LocalRecipients
{
    private readonly List<(int Offset, int Length, ILocalMailbox Mailbox)> _recipients = [];
    private byte[] _addresses = new byte[256];
    private int _addressBytes;

    public int Count => _recipients.Count;

    public LocalCopy Copy { get; } = new();

    /// <summary>No remote recipient: the content goes to <see cref="Copy"/> only, never to the spool.</summary>
    public bool IsOnly { get; set; }

    public void Add(ReadOnlySpan<byte> address, ILocalMailbox mailbox)
    {
        if (_addresses.Length - _addressBytes < address.Length)
        {
            Array.Resize(ref _addresses, Math.Max(_addresses.Length * 2, _addressBytes + address.Length));
        }
        address.CopyTo(_addresses.AsSpan(_addressBytes));
        _recipients.Add((_addressBytes, address.Length, mailbox));
        _addressBytes += address.Length;
    }

    /// <summary>One call per mailbox, in the order its first recipient was given, each awaited before the next.</summary>
    public async ValueTask DeliverAsync(FastMta.Spool.SpoolMessageId id, ReadOnlyMemory<byte> sender, string clientAddress,
        string protocol)
    {
        var delivered = new List<ILocalMailbox>(1);
        foreach ((_, _, ILocalMailbox mailbox) in _recipients)
        {
            if (delivered.Contains(mailbox))
            {
                continue;
            }
            delivered.Add(mailbox);
            var recipients = new List<ReadOnlyMemory<byte>>();
            foreach ((int offset, int length, ILocalMailbox owner) in _recipients)
            {
                if (ReferenceEquals(owner, mailbox))
                {
                    recipients.Add(_addresses.AsMemory(offset, length));
                }
            }
            // Not cancelled by the client going away, as the spool's commit is not: the message is taken or refused.
            await mailbox.DeliverAsync(new LocalMessage
            {
                Id = id,
                Sender = sender,
                Recipients = recipients,
                Content = Copy.Content,
                ClientAddress = clientAddress,
                Protocol = protocol,
            }, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Clear()
    {
        _recipients.Clear();
        _addressBytes = 0;
        IsOnly = false;
        Copy.Clear();
    }
}
