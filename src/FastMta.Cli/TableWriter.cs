namespace FastMta.Cli;

/// <summary>Aligned plain-text columns, two spaces apart; numbers right-aligned when the column says so. Cells are
/// written as given (no wrapping, no truncation): a long address widens its column rather than being cut.</summary>
internal sealed class TableWriter(params TableColumn[] columns)
{
    private readonly List<string[]> _rows = [];

    public int RowCount => _rows.Count;

    public void AddRow(params string[] cells)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(cells.Length, columns.Length);
        _rows.Add(cells);
    }

    public void Write(TextWriter output)
    {
        int[] widths = columns.Select((c, i) => _rows.Select(r => r[i].Length).Append(c.Header.Length).Max()).ToArray();
        WriteLine(output, columns.Select(c => c.Header).ToArray(), widths);
        foreach (string[] row in _rows)
        {
            WriteLine(output, row, widths);
        }
    }

    private void WriteLine(TextWriter output, string[] cells, int[] widths)
    {
        var line = new System.Text.StringBuilder();
        for (int i = 0; i < cells.Length; i++)
        {
            if (i > 0)
            {
                line.Append("  ");
            }

            line.Append(columns[i].RightAligned ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
        }

        output.WriteLine(line.ToString().TrimEnd());
    }
}

internal sealed record TableColumn(string Header, bool RightAligned = false)
{
    public static TableColumn Number(string header) => new(header, RightAligned: true);

    public static implicit operator TableColumn(string header) => new(header);
}
