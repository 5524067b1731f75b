using System.Diagnostics.Metrics;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>What the queue manager works with besides its <see cref="QueueOptions"/>: none of it optional.</summary>
public sealed class QueueDependencies
{
    /// <summary>Where messages and recipient states live; open before the queue starts.</summary>
    public required MessageSpool Spool { get; init; }

    /// <summary>Makes the attempts (SMTP in production).</summary>
    public required IDeliveryAgent Agent { get; init; }

    /// <summary>Receives every delivery event (the delivery log, webhooks).</summary>
    public required IDeliveryEventSink Events { get; init; }

    /// <summary>Traffic shaping: which egress source may send to which destination, and when.</summary>
    public required ITrafficShaper Shaper { get; init; }

    /// <summary>Resolves a domain's site (MX set) for shaping rules.</summary>
    public required ISiteResolver Sites { get; init; }

    /// <summary>Told about every attempt (<see cref="IAttemptObserver"/>), in this order. Production registers
    /// <see cref="ShapingSettlement"/> here.</summary>
    public IReadOnlyList<IAttemptObserver> Observers { get; init; } = [];

    public required ILogger<QueueManager> Logger { get; init; }

    /// <summary>Where the queue's Meter ("FastMta.Queue") comes from: the host's factory, or one per queue in tests.</summary>
    public required IMeterFactory Meters { get; init; }

    /// <summary>The clock for due times, retries, expiry, suspensions and loop backoff.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
