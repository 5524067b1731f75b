namespace FastMta.Spool.Tests;

/// <summary>
/// The spool's one commit listener: registered once, called on the committing caller before CommitAsync returns
/// (before a 250 can be sent), and no longer called once removed.
/// </summary>
public sealed class CommitListenerTests
{
    [Fact]
    public async Task TheListenerRunsOnTheCommittingCallerBeforeTheCommitReturns()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        var calls = new List<(SpoolMessageId Id, bool Returned)>();
        bool returned = false;
        spool.SetCommitListener(new CommitRecorder(e => calls.Add((e.Id, Volatile.Read(ref returned)))));

        SpoolMessageId id = await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));
        Volatile.Write(ref returned, true);

        Assert.Equal([(id, false)], calls);
    }

    [Fact]
    public async Task ASecondListenerIsRefusedAndTheFirstKeepsItsPlace()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        var first = new List<SpoolMessageId>();
        var second = new List<SpoolMessageId>();
        var registered = new CommitRecorder(e => first.Add(e.Id));
        spool.SetCommitListener(registered);

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => spool.SetCommitListener(new CommitRecorder(e => second.Add(e.Id))));
        Assert.Contains("registered once", e.Message);
        spool.RemoveCommitListener(new CommitRecorder(e => second.Add(e.Id))); // not the registered one: no effect
        SpoolMessageId id = await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));

        Assert.Equal([id], first);
        Assert.Empty(second);
    }

    [Fact]
    public async Task ARemovedListenerIsNotCalledAndAnotherMayRegister()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        var first = new List<SpoolMessageId>();
        var later = new List<SpoolMessageId>();
        var listener = new CommitRecorder(e => first.Add(e.Id));
        spool.SetCommitListener(listener);
        SpoolMessageId before = await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));
        spool.RemoveCommitListener(listener);
        await TempSpool.WriteAsync(spool, TempSpool.Body(100, 2));
        spool.SetCommitListener(new CommitRecorder(e => later.Add(e.Id)));
        SpoolMessageId after = await TempSpool.WriteAsync(spool, TempSpool.Body(100, 3));

        Assert.Equal([before], first);
        Assert.Equal([after], later);
    }
}
