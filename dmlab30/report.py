"""The DMLab-30 report: per-level scores beside the paper's Table B.1, the mean beside Table 3.

    python -m dmlab30.report RESULTS.json [MORE.json ...] [--png chart.png]

The command reads an evaluation results file (`dmlab30.evaluation`) and dispatches on its "suite", so
it serves Atari-57 files too (`python -m atari57.report` is the same command). From Python:
`print_report(results, png_path=None) -> str`.
"""
import sys

import dmlab30
from dmlab30 import command
from dmlab30 import evaluation
from dmlab30.evaluation import format_report, print_report  # noqa: F401  (this module's API)

# The paper's agents shown beside ours: (label, PAPER_TABLE_B1 field, PAPER_TABLE_3 key).
PAPER_AGENTS = (
    ('IMPALA deep PBT', 'impala_deep_pbt', 'impala_deep_pbt'),
    ('IMPALA-Experts deep', 'impala_experts_deep', 'impala_experts_deep'),
)


def build_report(level_returns):
    """The report's content for DMLab-30 returns keyed by test level name (any subset of levels)."""
    ours = dmlab30.human_normalized_scores(level_returns)
    # Table B.1 holds raw returns; normalise them exactly as ours are (release human/random scores).
    paper = [dmlab30.human_normalized_scores(dmlab30.paper_level_returns(field))
             for _, field, _ in PAPER_AGENTS]
    returns = {dmlab30.canonical_level_name(k): v for k, v in level_returns.items()}
    rows = [evaluation.make_row(level, returns[level], score, [p[level] for p in paper])
            for level, score in ours.items()]
    report = evaluation.Report('DMLab-30: human-normalised test scores', rows,
                               paper_columns=tuple(label for label, _, _ in PAPER_AGENTS))
    missing = [level for level in dmlab30.TEST_LEVELS if level not in ours]
    if missing:
        report.notes.append(
            f'No aggregate: the DMLab-30 score averages all 30 levels and these results have '
            f'{len(ours)} ({_listing(missing)} missing).')
    else:
        report.aggregates = [
            evaluation.Aggregate(
                'mean, capped at 100 per level', dmlab30.compute_human_normalized_score(returns, 100),
                tuple(dmlab30.PAPER_TABLE_3[key] for _, _, key in PAPER_AGENTS)),
            evaluation.Aggregate(
                'mean, uncapped', dmlab30.compute_human_normalized_score(returns),
                tuple(dmlab30.compute_human_normalized_score(dmlab30.paper_level_returns(field))
                      for _, field, _ in PAPER_AGENTS)),
        ]
        report.notes.append('The paper reports the capped mean (Table 3); its uncapped means here '
                            'are computed from Table B.1.')
    report.notes.append('Paper per-level scores: Table B.1 returns, normalised with the release\'s '
                        'human and random scores.')
    return report


def _listing(levels, limit=5):
    shown = ', '.join(levels[:limit])
    return shown if len(levels) <= limit else f'{shown} and {len(levels) - limit} more'


if __name__ == '__main__':
    sys.exit(command.main(prog='python -m dmlab30.report'))
