namespace FastMta.Queue.Tests.Events;

public class DeliveryEventTypeTests
{
    // Golden values: the names are the log's public format and the numbers must never be reused. Append only.
    [Fact]
    public void NamesAndNumbersNeverChange()
    {
        Assert.Equal(
            ["Reception=0", "Delivery=1", "TransientFailure=2", "Bounce=3", "Expiration=4"],
            Enum.GetValues<DeliveryEventType>().Select(t => $"{t}={(int)t}"));
    }

    [Fact]
    public void FanOutPublishesToEverySinkInOrder()
    {
        var seen = new List<string>();
        var e = new DeliveryEvent { Type = DeliveryEventType.Bounce, Timestamp = DateTimeOffset.UnixEpoch, MessageId = "m", Sender = "s" };
        var fanOut = new DeliveryEventFanOut([new Recorder("a", seen), new Recorder("b", seen)]);

        fanOut.Publish(e);

        Assert.Equal(["a:m", "b:m"], seen);
    }

    private sealed class Recorder(string name, List<string> seen) : IDeliveryEventSink
    {
        public void Publish(DeliveryEvent deliveryEvent) => seen.Add($"{name}:{deliveryEvent.MessageId}");
    }
}
