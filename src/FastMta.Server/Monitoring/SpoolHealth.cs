using FastMta.Spool;

namespace FastMta.Server.Monitoring;

/// <summary>
/// /health fails (503) while the spool refuses all mail: the disk is full, a write keeps failing, or the committer
/// failed; the reason is the spool's own words (with the errno). It passes again by itself once the spool recovers.
/// </summary>
internal sealed class SpoolHealth(SpoolService spool) : IHealthContributor
{
    public void AddProblems(List<string> problems)
    {
        if (spool.IsOpen && spool.Spool.Unavailable is { IsLatched: true } unavailable)
        {
            problems.Add("spool: " + unavailable.Message);
        }
    }
}
