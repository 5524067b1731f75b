namespace FastMta.Shaping;

/// <summary>Message rates (second, minute, hour cells) and a connection limit, applied to one <see cref="DestinationState"/>.</summary>
internal sealed class CompiledLimits
{
    public CompiledLimits(int? perSecond, int? perMinute, int? perHour, int? burst, int? maxConnections, long frequency)
    {
        // Burst sizes the finest configured cell; coarser cells hold their own count.
        Second = Cell(perSecond, frequency, 1, ref burst);
        Minute = Cell(perMinute, frequency, 60, ref burst);
        Hour = Cell(perHour, frequency, 3600, ref burst);
        MaxConnections = maxConnections ?? int.MaxValue;
        Finest = Second.Enabled ? Second : Minute.Enabled ? Minute : Hour;
    }

    public RateCell Second { get; }

    public RateCell Minute { get; }

    public RateCell Hour { get; }

    public RateCell Finest { get; }

    public int MaxConnections { get; }

    public bool HasRate => Finest.Enabled;

    public bool TryTakeMessage(DestinationState state, long now, out long readyAt)
    {
        readyAt = now;
        if (Second.Enabled && !Second.TryTake(ref state.TatSecond, now, out readyAt))
        {
            return false;
        }

        if (Minute.Enabled && !Minute.TryTake(ref state.TatMinute, now, out readyAt))
        {
            RefundSecond(state);
            return false;
        }

        if (Hour.Enabled && !Hour.TryTake(ref state.TatHour, now, out readyAt))
        {
            RefundSecond(state);
            if (Minute.Enabled)
            {
                Minute.Refund(ref state.TatMinute);
            }

            return false;
        }

        return true;
    }

    public void RefundMessage(DestinationState state)
    {
        RefundSecond(state);
        if (Minute.Enabled)
        {
            Minute.Refund(ref state.TatMinute);
        }

        if (Hour.Enabled)
        {
            Hour.Refund(ref state.TatHour);
        }
    }

    /// <summary>The TAT of the finest cell, for snapshots and the tokens gauge.</summary>
    public long FinestTat(DestinationState state) =>
        Second.Enabled ? Volatile.Read(ref state.TatSecond) : Minute.Enabled ? Volatile.Read(ref state.TatMinute) : Volatile.Read(ref state.TatHour);

    private void RefundSecond(DestinationState state)
    {
        if (Second.Enabled)
        {
            Second.Refund(ref state.TatSecond);
        }
    }

    private static RateCell Cell(int? count, long frequency, int periodSeconds, ref int? burst)
    {
        if (count is not int n)
        {
            return default;
        }

        var cell = new RateCell(n, frequency * periodSeconds, burst ?? n, periodSeconds);
        burst = null;
        return cell;
    }
}
