"""The successor paper's published scores, for the reports to put a run beside.

Hessel et al. 2019, "Multi-task Deep Reinforcement Learning with PopArt" (AAAI-19, arXiv:1809.04474),
Table 1: aggregates only (Atari-57 median and DMLab-30 mean capped human-normalised scores, in %), for
PopArt-IMPALA and the paper's own IMPALA (whether the DMLab-30 cells are with the pixel-control
auxiliary task was not checked). The numbers, their columns and what was checked of them are in
`hessel2019_table1.csv` beside this module. Both
suites' reports read it, so it lives with the suite-agnostic report code (`dmlab30.evaluation`).

The reports show these rows under every whole-suite table, whether or not the run was trained with
`--popart`: a researcher puts a plain run's report beside a PopArt run's, and both should hold the same
reference rows (how far the plain agent is from PopArt's published score is the point of comparing);
the IMPALA paper's columns are shown always for the same reason. A subset of a suite gets none: there
are no per-level numbers of this paper (none was found) to compare a subset with.
"""
import csv
import os

from dmlab30 import tables

CITATION = 'Hessel et al. 2019, arXiv:1809.04474, Table 1'
NOTE = (f'PopArt rows: the successor paper\'s aggregates ({CITATION}), with its own IMPALA runs; no '
        'per-level numbers of it were found; which cells were checked: dmlab30/hessel2019_table1.csv.')
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'hessel2019_table1.csv')
AGENTS = ('PopArt-IMPALA', 'IMPALA')  # The table's rows, in the report's column order.
BENCHMARKS = {'Atari-57': ('Random', 'Human'), 'Atari-57 (unclipped)': ('Random', 'Human'),
              'DmLab-30': ('Train', 'Test')}  # The table's column groups and columns, as printed.


def read_table_1(path=PATH):
    """{(agent, benchmark, paper column): score in %} from the CSV (its '#' lines are its notes);
    ValueError if a cell is missing, repeated or not a number."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith('#')))
    table = {}
    for row in rows:
        key = (row['agent'], row['benchmark'], row['paper_column'])
        if key in table:
            raise ValueError(f'{path}: {key} is given twice')
        table[key] = float(row['score_percent'])
    expected = {(agent, benchmark, column) for agent in AGENTS
                for benchmark, columns in BENCHMARKS.items() for column in columns}
    if set(table) != expected:
        raise ValueError(f'{path}: cells missing {sorted(expected - set(table))}, '
                         f'unexpected {sorted(set(table) - expected)}')
    return table


TABLE_1 = read_table_1()


def scores(benchmark, paper_column):
    """The agents' scores in one column of Table 1, in `AGENTS` order."""
    return tuple(TABLE_1[(agent, benchmark, paper_column)] for agent in AGENTS)


def reference_table(rows):
    """The rows beside ours in a report: `rows` are (label, our score, Table 1 benchmark, column)."""
    return tables.ReferenceTable(
        f'Beside the successor paper ({CITATION})',
        tuple(f'{agent} (2019)' for agent in AGENTS),
        [tables.Aggregate(label, ours, scores(benchmark, column))
         for label, ours, benchmark, column in rows])
