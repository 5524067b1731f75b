using System.Text;
using FastMta.Spool;
using Microsoft.Extensions.Time.Testing;
using static FastMta.Queue.Tests.Manager.QueueTestHarness;

namespace FastMta.Queue.Tests.Manager;

public sealed class QueueManagerTests
{
    [Fact]
    public async Task Recipients_are_grouped_into_one_transaction_per_domain_and_the_message_leaves_the_queue()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        await h.StartAsync();
        SpoolMessageId id = await h.SendAsync("alice@sender.test", "a@one.test", "b@two.test", "c@ONE.test");

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 3, "all three are delivered");
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "the message leaves the queue");
        var attempts = h.Agent.Attempts.ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.Equal(["a@one.test", "c@ONE.test"], attempts.Single(a => a.Domain == "one.test").Recipients);
        Assert.Equal(["b@two.test"], attempts.Single(a => a.Domain == "two.test").Recipients);
        Assert.All(attempts, a => Assert.Equal(id, a.MessageId));
        Assert.Equal("hello\r\n", Encoding.ASCII.GetString(attempts[0].Body).Split("\r\n\r\n")[1]);

        DeliveryEvent reception = Assert.Single(h.Events.Events, e => e.Type == DeliveryEventType.Reception);
        Assert.Equal(3, reception.RecipientCount);
        DeliveryEvent delivery = h.Events.Events.First(e => e.Recipient == "b@two.test");
        Assert.Equal((id.ToString(), "two.test", 250, "2.0.0", 1, "mx.two.test"), (delivery.MessageId, delivery.Domain, delivery.ReplyCode, delivery.EnhancedStatus, delivery.Attempt, delivery.RemoteHost));
    }

    [Fact]
    public async Task A_transaction_holds_at_most_MaxRecipientsPerTransaction()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Options.MaxRecipientsPerTransaction = 2;
        await h.StartAsync();
        await h.SendAsync("s@sender.test", Enumerable.Range(0, 5).Select(i => $"r{i}@one.test").ToArray(), "x\r\n"u8.ToArray());

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 5, "all five are delivered");
        Assert.Equal([1, 2, 2], h.Agent.Attempts.Select(a => a.Recipients.Length).Order().ToArray());
    }

    [Fact]
    public async Task A_deferred_recipient_is_retried_on_schedule_and_only_it()
    {
        int calls = 0;
        await using var h = new QueueTestHarness((r, _) => Task.FromResult(Interlocked.Increment(ref calls) == 1
            ? new DeliveryResult
            {
                Recipients = [new(RecipientOutcome.Delivered, 250, "2.0.0", "ok"), new(RecipientOutcome.Deferred, 451, "4.2.1", "try later")],
            }
            : All(r, RecipientOutcome.Delivered, 250, "2.0.0")));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        h.Time = clock;
        await h.StartAsync();
        await h.SendAsync("s@sender.test", "first@one.test", "second@one.test");

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 1, "the second is deferred");
        Assert.Single(h.Agent.Attempts); // its 200 ms have not passed on the queue's clock
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 2, "both are delivered");
        var attempts = h.Agent.Attempts.ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.Equal(["second@one.test"], attempts[1].Recipients);
        DeliveryEvent transient = Assert.Single(h.Events.Events, e => e.Type == DeliveryEventType.TransientFailure);
        Assert.Equal((451, "4.2.1", "try later", 1), (transient.ReplyCode, transient.EnhancedStatus, transient.Response, transient.Attempt));
        Assert.Equal(2, h.Events.Events.Last(e => e.Type == DeliveryEventType.Delivery).Attempt);
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "the message leaves the queue");
    }

    [Fact]
    public async Task A_deferral_survives_a_restart_and_is_not_retried_early()
    {
        await using var h = new QueueTestHarness((r, _) => Task.FromResult(All(r, RecipientOutcome.Deferred, 421, "4.7.0", "busy")));
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)];
        await h.StartAsync();
        await h.SendAsync("s@sender.test", "r@one.test");
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 1, "the first attempt is deferred");

        await h.RestartAsync();
        await Task.Delay(500);
        Assert.Single(h.Agent.Attempts);
        Assert.Equal(1, h.Queue.MessageCount);
    }

    [Fact]
    public async Task A_delivered_recipient_is_not_delivered_again_after_a_restart()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        await h.StartAsync();
        await h.SendAsync("s@sender.test", "r@one.test");
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "it is delivered");

        await h.RestartAsync();
        await Task.Delay(300);
        Assert.Single(h.Agent.Attempts);
        Assert.Equal(0, h.Queue.MessageCount);
    }

    [Fact]
    public async Task An_attempt_cut_short_by_shutdown_is_made_again_after_restart()
    {
        var hang = new TaskCompletionSource<DeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool hung = false;
        await using var h = new QueueTestHarness(async (r, ct) =>
        {
            if (!hung)
            {
                hung = true;
                return await hang.Task.WaitAsync(ct);
            }

            return await Deliver(r);
        });
        await h.StartAsync();
        await h.SendAsync("s@sender.test", "r@one.test");
        await WaitUntilAsync(() => h.Agent.Attempts.Count == 1, "the attempt starts");

        await h.StopAsync(grace: TimeSpan.FromMilliseconds(100));
        Assert.DoesNotContain(h.Events.Events, e => e.Type != DeliveryEventType.Reception);
        await h.StartAsync();
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 1, "it is delivered after the restart");
        Assert.Equal(2, h.Agent.Attempts.Count);
    }

    [Fact]
    public async Task A_permanent_failure_is_bounced_once_to_the_sender_and_never_retried()
    {
        await using var h = new QueueTestHarness((r, _) => r.Domain == "bad.test"
            ? Task.FromResult(All(r, RecipientOutcome.Failed, 550, "5.1.1", "no such user"))
            : Deliver(r));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        h.Time = clock;
        await h.StartAsync();
        SpoolMessageId id = await h.SendAsync("alice@sender.test", "nobody@bad.test");

        await WaitUntilAsync(() => h.Agent.Attempts.Any(a => a.Domain == "sender.test"), "the DSN is delivered");
        ScriptedAgent.Attempt dsn = h.Agent.Attempts.Single(a => a.Domain == "sender.test");
        Assert.Equal("", dsn.Sender);
        Assert.Equal(["alice@sender.test"], dsn.Recipients);
        string text = Encoding.UTF8.GetString(dsn.Body);
        Assert.Contains("multipart/report", text);
        Assert.Contains("Final-Recipient: rfc822; nobody@bad.test", text);
        Assert.Contains("Status: 5.1.1", text);
        Assert.Contains("Diagnostic-Code: smtp; 550 5.1.1 no such user", text);
        Assert.Contains(id.ToString(), text);
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "both leave the queue");
        clock.Advance(TimeSpan.FromMilliseconds(400)); // more than the 200 ms retry interval
        await Task.Delay(200); // a scheduler that retried would start the attempt within this
        Assert.Single(h.Agent.Attempts, a => a.Domain == "bad.test");
        Assert.Equal(1, h.Events.Count(DeliveryEventType.Bounce));
    }

    [Fact]
    public async Task A_bounce_that_fails_is_not_bounced_again()
    {
        await using var h = new QueueTestHarness((r, _) => Task.FromResult(All(r, RecipientOutcome.Failed, 550, "5.1.1", "no such user")));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        h.Time = clock;
        await h.StartAsync();
        await h.SendAsync("alice@sender.test", "nobody@bad.test");

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Bounce) == 2, "the message and its DSN both fail");
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "both leave the queue");
        clock.Advance(TimeSpan.FromMilliseconds(300)); // past the 200 ms retry interval
        await Task.Delay(200); // a scheduler that retried or bounced again would start the attempt within this
        Assert.Equal(2, h.Agent.Attempts.Count);
        Assert.Single(h.Agent.Attempts, a => a.Sender == "");
    }

    [Fact]
    public async Task A_recipient_past_MaxAge_expires_with_a_DSN_that_keeps_the_last_temporary_status()
    {
        await using var h = new QueueTestHarness((r, _) => r.Domain == "slow.test"
            ? Task.FromResult(All(r, RecipientOutcome.Deferred, 451, "4.4.1", "no answer"))
            : Deliver(r));
        h.Options.MaxAge = TimeSpan.FromSeconds(1);
        h.Options.RetrySchedule = [TimeSpan.FromMilliseconds(300)];
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        h.Time = clock;
        await h.StartAsync();
        await h.SendAsync("alice@sender.test", "r@slow.test");

        // The queue's clock moves 300 ms after each recorded deferral, until an attempt finds the recipient expired.
        for (int outcomes = 1; h.Events.Count(DeliveryEventType.Expiration) == 0; outcomes++)
        {
            await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) + h.Events.Count(DeliveryEventType.Expiration) == outcomes,
                $"attempt {outcomes} is recorded");
            if (h.Events.Count(DeliveryEventType.Expiration) == 0)
            {
                clock.Advance(TimeSpan.FromMilliseconds(300));
            }
        }

        await WaitUntilAsync(() => h.Agent.Attempts.Any(a => a.Domain == "sender.test"), "the DSN is delivered");
        // Retried every 300 ms while young; the recipient fails only at an attempt made at or after its expiry time.
        DeliveryEvent expiration = h.Events.Events.Single(e => e.Type == DeliveryEventType.Expiration);
        Assert.True(expiration.QueueTime >= 1.0, $"expired after {expiration.QueueTime} s");
        Assert.Equal(h.Agent.Attempts.Count(a => a.Domain == "slow.test"), expiration.Attempt);
        Assert.All(h.Events.Events.Where(e => e.Type == DeliveryEventType.TransientFailure), e => Assert.True(e.QueueTime < 1.0));
        string dsn = Encoding.UTF8.GetString(h.Agent.Attempts.Single(a => a.Domain == "sender.test").Body);
        Assert.Contains("Action: failed", dsn);
        Assert.Contains("Status: 4.4.1", dsn);
    }

    [Fact]
    public async Task A_slow_destination_does_not_hold_back_another()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var h = new QueueTestHarness(async (r, ct) =>
        {
            if (r.Domain == "slow.test")
            {
                await release.Task.WaitAsync(ct);
            }

            return await Deliver(r);
        });
        h.Options.MaxConcurrencyPerDestination = 2;
        await h.StartAsync();
        for (int i = 0; i < 10; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@slow.test");
        }

        for (int i = 0; i < 10; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@fast.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 10, "every fast.test message is delivered while slow.test hangs");
        Assert.All(h.Events.Events.Where(e => e.Type == DeliveryEventType.Delivery), e => Assert.Equal("fast.test", e.Domain));
        Assert.Equal(2, h.Agent.Attempts.Count(a => a.Domain == "slow.test")); // its own limit, not more
        release.SetResult();
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 20, "slow.test drains once released");
    }

    [Fact]
    public async Task Under_the_global_limit_destinations_take_turns()
    {
        var gate = new SemaphoreSlim(0);
        await using var h = new QueueTestHarness(async (r, ct) =>
        {
            await gate.WaitAsync(ct);
            return await Deliver(r);
        });
        h.Options.MaxDeliveriesInFlight = 1;
        await h.StartAsync();
        for (int i = 0; i < 20; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@big.test");
        }

        await WaitUntilAsync(() => h.Agent.Attempts.Count == 1, "the first big.test attempt starts");
        await h.SendAsync("s@sender.test", "r@small.test");
        // small.test is planned (waiting in its ready queue) while big.test holds the only slot.
        await WaitUntilAsync(() => h.Queue.GetSummary().Destinations.Any(d => d.Domain == "small.test" && d.InFlight == 1), "small.test is ready");
        gate.Release(25);
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 21, "everything is delivered");
        int position = Array.FindIndex(h.Agent.Attempts.ToArray(), a => a.Domain == "small.test");
        Assert.InRange(position, 1, 2); // right after the attempt in flight, not behind 19 queued big.test messages
    }

    [Fact]
    public async Task Smtputf8_and_8bitmime_requirements_follow_the_envelope()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        await h.StartAsync();
        await h.SendAsync("s@sender.test", ["plain@one.test"], "x\r\n"u8.ToArray(), "BODY=8BITMIME");
        await h.SendAsync("s@sender.test", ["jörg@two.test"], "x\r\n"u8.ToArray());

        await WaitUntilAsync(() => h.Agent.Attempts.Count == 2, "both are attempted");
        ScriptedAgent.Attempt one = h.Agent.Attempts.Single(a => a.Domain == "one.test");
        ScriptedAgent.Attempt two = h.Agent.Attempts.Single(a => a.Domain == "two.test");
        Assert.Equal((false, true), (one.RequiresSmtpUtf8, one.EightBitMime));
        Assert.Equal((true, false), (two.RequiresSmtpUtf8, two.EightBitMime));
    }

    [Fact]
    public void Xtext_parameters_are_decoded()
    {
        Assert.Equal("rfc822;bob+x@example.test", DsnGenerator.XtextParameter("NOTIFY=FAILURE ORCPT=rfc822;bob+2Bx@example.test", "ORCPT="));
        Assert.Equal("id 1", DsnGenerator.XtextParameter("SIZE=10 ENVID=id+201", "ENVID="));
        Assert.Null(DsnGenerator.XtextParameter("SIZE=10", "ENVID="));
    }
}
