"""The report's content and how it is shown: a plain-text table and a PNG bar chart.

Suite-agnostic, like `dmlab30.evaluation`, which builds a `Report` through the suite's
`report.build_report` and shows it with `format_text` and `write_png`. A report has one row per level
(ours beside the paper's columns), aggregate rows (the same columns), and `references`: other papers'
aggregates where they publish no per-level numbers (the successor PopArt paper's, `popart_paper`).
"""
import dataclasses
from typing import Optional


@dataclasses.dataclass
class Row:
    level: str
    episodes: int
    mean_return: float
    ours: Optional[float] = None  # Human-normalised score (%), None where the level has no reference.
    paper: tuple = ()             # The paper's scores (%) for the same level, one per paper column.
    ran: bool = True              # False: the run left the level out ('not run').


@dataclasses.dataclass
class Aggregate:
    label: str
    ours: float
    paper: tuple  # One per paper column; None where the paper has no number.


@dataclasses.dataclass
class ReferenceTable:
    """Another paper's aggregates beside ours: one Aggregate per metric, one column per agent."""
    title: str      # Names the paper and its table.
    columns: tuple  # Its agents' labels.
    rows: list


@dataclasses.dataclass
class Report:
    title: str
    rows: list
    paper_columns: tuple = ()     # Labels of the paper's agents, e.g. ('IMPALA deep PBT', ...).
    aggregates: list = dataclasses.field(default_factory=list)
    references: list = dataclasses.field(default_factory=list)  # ReferenceTables.
    notes: list = dataclasses.field(default_factory=list)


def number(value, digits=1):
    # `+ 0.0` turns a rounded -0.0 into 0.0.
    return '-' if value is None else f'{round(value, digits) + 0.0:,.{digits}f}'


def _table(header, rows):
    """Plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = []
    for i, cells in enumerate([header] + rows):
        lines.append('  '.join(str(c).ljust(w) if j == 0 else str(c).rjust(w)
                               for j, (c, w) in enumerate(zip(cells, widths))).rstrip())
        if i == 0:
            lines.append('  '.join('-' * w for w in widths))
    return lines


def _aggregate_table(columns, aggregates):
    return _table(['aggregate', 'ours'] + list(columns),
                  [[a.label, number(a.ours)] + [number(p) for p in a.paper] for a in aggregates])


def format_text(report, results):
    """The report as text, headed by the facts of `results` (a validated results dict)."""
    metadata = results['metadata']
    suite = results['suite'] or 'none'
    lines = [report.title, f'level_name: {results["level_name"]}   suite: {suite}']
    facts = [f'{key}: {metadata[key]}' for key in ('checkpoint', 'frames', 'created') if key in metadata]
    if facts:
        lines.append('   '.join(facts))
    normalised = any(row.ours is not None for row in report.rows)
    if normalised:
        lines.append('Scores: human-normalised, in %: 100 * (mean return - random) / (human - random).')
    lines.append('')
    paper_columns = [f'{c} (paper)' for c in report.paper_columns]
    header = ['level', 'episodes', 'mean return'] + (['ours'] + paper_columns if normalised else [])
    rows = []
    for row in report.rows:
        cells = [row.level, row.episodes if row.ran else 'not run', number(row.mean_return, 2)]
        if normalised:
            cells += [number(row.ours)] + [number(p) for p in row.paper]
        rows.append(cells)
    lines += _table(header, rows)
    if report.aggregates:
        lines += [''] + _aggregate_table(paper_columns, report.aggregates)
    for reference in report.references:
        lines += ['', reference.title + ':'] + _aggregate_table(reference.columns, reference.rows)
    if report.notes:
        lines.append('')
        lines += [f'Note: {note}' for note in report.notes]
    return '\n'.join(lines)


def _chart_title(report):
    title = report.title
    tables = [('paper: ', report.paper_columns, report.aggregates)]
    tables += [('', reference.columns, reference.rows) for reference in report.references]
    for prefix, columns, aggregates in tables:
        for a in aggregates:
            paper = ', '.join(f'{c} {number(p)}%' for c, p in zip(columns, a.paper) if p is not None)
            title += f'\n{a.label}: ours {number(a.ours)}%' + (f' ({prefix}{paper})' if paper else '')
    return title


def write_png(report, path):
    """Horizontal bar chart: each level's normalised score, ours beside the paper's columns."""
    # The object-oriented API with the Agg canvas: no pyplot, no global backend switch, no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = report.rows
    series = [('ours', [r.ours for r in rows])]
    series += [(f'{c} (paper)', [r.paper[i] for r in rows]) for i, c in enumerate(report.paper_columns)]
    colours = ['#d62728', '#1f77b4', '#9ecae1', '#bdbdbd']
    bar = 0.8 / len(series)
    # Constrained layout makes room for the title and the legend above the axes.
    fig = Figure(figsize=(11, 2.2 + 0.09 * len(series) * len(rows) + 0.1 * len(rows)),
                 layout='constrained')
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (label, values) in enumerate(series):
        ys = [k + (i - (len(series) - 1) / 2) * bar for k, v in enumerate(values) if v is not None]
        ax.barh(ys, [v for v in values if v is not None], height=bar, label=label,
                color=colours[i % len(colours)], edgecolor='black' if i == 0 else 'none', linewidth=0.4)
    ax.set_yticks(range(len(rows)), [r.level if r.ran else f'{r.level} (not run)' for r in rows],
                  fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # First level at the top, as in the tables.
    ax.axvline(0, color='black', linewidth=0.6)
    ax.axvline(100, color='grey', linestyle='--', linewidth=0.8, label='human (100%)')
    values = [abs(v) for _, vs in series for v in vs if v is not None]
    if max(values) > 1000:
        # Atari scores span 0% to >10,000%: linear up to 100%, logarithmic beyond.
        ax.set_xscale('symlog', linthresh=100)
        ax.set_xlabel('human-normalised score (%), symmetric log scale beyond 100%')
    else:
        ax.set_xlabel('human-normalised score (%)')
    ax.grid(axis='x', linewidth=0.3)
    if len(rows) > 15:
        ax.tick_params(axis='x', labeltop=True, top=True)  # Tall charts: a scale at both ends.
    ax.set_title(_chart_title(report), fontsize=9)
    fig.legend(*ax.get_legend_handles_labels(), loc='outside upper center', ncol=len(series) + 1,
               fontsize=8, frameon=False)
    fig.savefig(path, dpi=100, format='png')
