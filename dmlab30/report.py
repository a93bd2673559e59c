"""The DMLab-30 report: per-level scores beside the paper's Table B.1, the mean beside Table 3 and
beside the successor PopArt paper's Table 1 (`dmlab30.popart_paper`).

    python -m dmlab30.report RESULTS.json [MORE.json ...] [--png chart.png]

The command reads an evaluation results file (`dmlab30.evaluation`) and dispatches on its "suite", so
it serves Atari-57 files too (`python -m atari57.report` is the same command). From Python:
`print_report(results, png_path=None) -> str`.
"""
import sys

import numpy as np

import dmlab30
from dmlab30 import command
from dmlab30 import evaluation
from dmlab30 import popart_paper
from dmlab30 import tables
from dmlab30.evaluation import format_report, print_report  # noqa: F401  (this module's API)

# The paper's agents shown beside ours: (label, PAPER_TABLE_B1 field, PAPER_TABLE_3 key).
PAPER_AGENTS = (
    ('IMPALA deep PBT', 'impala_deep_pbt', 'impala_deep_pbt'),
    ('IMPALA-Experts deep', 'impala_experts_deep', 'impala_experts_deep'),
)


def build_report(level_returns, whole_suite=True):
    """The report's content for DMLab-30 returns keyed by test level name (any subset of levels).

    The aggregates are over the levels that have returns, the paper's over the same levels; where
    some lack them a note names them and says it is not the DMLab-30 score. whole_suite: the results
    are of a DMLab-30 run, whose levels without returns are rows marked 'not run' (a single level's
    results list only that level).
    """
    ours = dmlab30.human_normalized_scores(level_returns)
    # Table B.1 holds raw returns; normalise them exactly as ours are (release human/random scores).
    paper = [dmlab30.human_normalized_scores(dmlab30.paper_level_returns(field))
             for _, field, _ in PAPER_AGENTS]
    returns = {dmlab30.canonical_level_name(k): v for k, v in level_returns.items()}
    rows = [evaluation.make_row(level, returns[level], ours[level], [p[level] for p in paper])
            if level in ours else
            tables.Row(level, 0, None, None, tuple(p[level] for p in paper), ran=False)
            for level in dmlab30.TEST_LEVELS if level in ours or whole_suite]
    report = tables.Report('DMLab-30: human-normalised test scores', rows,
                           paper_columns=tuple(label for label, _, _ in PAPER_AGENTS))
    ran = list(ours)
    missing = [level for level in dmlab30.TEST_LEVELS if level not in ours]
    over = f' over the {len(ran)} of {len(dmlab30.TEST_LEVELS)} levels that ran' if missing else ''

    def mean(scores, cap=None):
        return float(np.mean([min(scores[level], cap or np.inf) for level in ran]))

    # All 30: the paper's own Table 3 numbers (Table B.1's rounded returns give them within 0.05).
    paper_capped = (tuple(mean(p, 100) for p in paper) if missing else
                    tuple(dmlab30.PAPER_TABLE_3[key] for _, _, key in PAPER_AGENTS))
    report.aggregates = [
        tables.Aggregate(f'mean{over}, capped at 100 per level', mean(ours, 100), paper_capped),
        tables.Aggregate(f'mean{over}, uncapped', mean(ours), tuple(mean(p) for p in paper)),
    ]
    if not missing:  # The successor paper's score averages all 30 (see popart_paper on why always).
        report.references = [popart_paper.reference_table(
            [('mean, capped at 100 per level; paper: test levels', mean(ours, 100),
              'DmLab-30', 'Test')])]
    if missing and not whole_suite:
        report.notes.append(f'Results for {len(ran)} of the {len(dmlab30.TEST_LEVELS)} levels: the '
                            'means are over those, the paper\'s over the same levels.')
    elif missing:
        report.notes.append(
            f'Not run: {", ".join(missing)} ({len(missing)} of {len(dmlab30.TEST_LEVELS)}). The '
            'means are over the levels that ran, the paper\'s over the same levels: not the DMLab-30 '
            'score, which averages all 30.')
    else:
        report.notes.append('The paper reports the capped mean (Table 3); its uncapped means here '
                            'are computed from Table B.1.')
    report.notes.append('Paper per-level scores: Table B.1 returns, normalised with the release\'s '
                        'human and random scores.')
    report.notes.append(popart_paper.NOTE if not missing else
                        'No PopArt rows: the successor paper\'s DMLab-30 score averages all 30 levels.')
    return report


if __name__ == '__main__':
    sys.exit(command.main(prog='python -m dmlab30.report'))
