using FastMta.Spool;

namespace FastMta.Queue.Tests.Manager;

// The one outcome model: each agent outcome, with and without the recipient's lifetime over, under the spool's, the
// delivery log's and the metrics' names for it.
public sealed class OutcomeMapperTests
{
    [Theory]
    [InlineData(RecipientOutcome.Delivered, false, RecipientStatus.Delivered, DeliveryEventType.Delivery, "delivered")]
    [InlineData(RecipientOutcome.Delivered, true, RecipientStatus.Delivered, DeliveryEventType.Delivery, "delivered")]
    [InlineData(RecipientOutcome.Failed, false, RecipientStatus.Failed, DeliveryEventType.Bounce, "failed")]
    [InlineData(RecipientOutcome.Failed, true, RecipientStatus.Failed, DeliveryEventType.Bounce, "failed")]
    [InlineData(RecipientOutcome.Deferred, false, RecipientStatus.Deferred, DeliveryEventType.TransientFailure, "deferred")]
    [InlineData(RecipientOutcome.Deferred, true, RecipientStatus.Failed, DeliveryEventType.Expiration, "expired")]
    public void Every_outcome_has_one_status_event_type_and_metric_tag(RecipientOutcome outcome, bool expired, RecipientStatus status,
        DeliveryEventType type, string tag)
    {
        Assert.Equal(new MappedOutcome(status, type, tag), OutcomeMapper.Map(outcome, expired));
    }

    [Theory]
    [InlineData(RecipientOutcome.Delivered, "delivered")]
    [InlineData(RecipientOutcome.Deferred, "deferred")]
    [InlineData(RecipientOutcome.Failed, "failed")]
    public void The_agents_metric_tag_is_the_outcome_before_expiry(RecipientOutcome outcome, string tag) =>
        Assert.Equal(tag, OutcomeMapper.MetricTag(outcome));
}
