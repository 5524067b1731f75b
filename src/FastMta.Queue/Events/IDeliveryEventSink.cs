namespace FastMta.Queue;

/// <summary>
/// Receives delivery events. Called on the queue's hot path: an implementation must not block, must not throw, and
/// must hand slow work (disk, network) to its own bounded queue, dropping and counting when that is full.
/// </summary>
public interface IDeliveryEventSink
{
    void Publish(DeliveryEvent deliveryEvent);
}
