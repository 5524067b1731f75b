namespace FastMta.Queue;

/// <summary>Publishes each event to several sinks in order (the log first, then reputation, webhooks...). Holds no
/// queue of its own: each sink's own non-blocking contract is what keeps Publish cheap.</summary>
public sealed class DeliveryEventFanOut(IEnumerable<IDeliveryEventSink> sinks) : IDeliveryEventSink
{
    private readonly IDeliveryEventSink[] _sinks = [.. sinks];

    public void Publish(DeliveryEvent deliveryEvent)
    {
        foreach (var sink in _sinks)
        {
            sink.Publish(deliveryEvent);
        }
    }
}
