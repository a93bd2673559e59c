"""The Atari-57 report: per-game scores beside the paper's Table C.1, median and mean beside Table 4,
the median beside the successor PopArt paper's Table 1 (`dmlab30.popart_paper`).

    python -m atari57.report RESULTS.json [MORE.json ...] [--png chart.png]

The same command as `python -m dmlab30.report` (see `dmlab30.evaluation`, the suite-agnostic results
file and report): it dispatches on the file's "suite". From Python:
`print_report(results, png_path=None) -> str`.

Everything here, ours and the paper's, is normalised with `atari57.PAPER_RANDOM_SCORES`
(video_pinball random = 0), the convention of the paper's Table 4 means; medians do not depend on it.
"""
import sys

import atari57
from dmlab30 import command
from dmlab30 import evaluation
from dmlab30 import popart_paper
from dmlab30 import tables
from dmlab30.evaluation import format_report, print_report  # noqa: F401  (this module's API)

# The paper's agents shown beside ours: (label, PAPER_TABLE_C1 field = PAPER_TABLE_4 key).
PAPER_AGENTS = (
    ('IMPALA deep experts', 'impala_deep_experts'),
    ('IMPALA shallow experts', 'impala_shallow_experts'),
    ('IMPALA deep multi-task', 'impala_deep_multitask'),
)


def _scores(game_returns, **kwargs):
    return atari57.human_normalized_scores(
        game_returns, random_scores=atari57.PAPER_RANDOM_SCORES, **kwargs)


def build_report(game_returns, whole_suite=True):
    """The report's content for Atari returns keyed by game id (any subset of the 57 games)."""
    del whole_suite  # Its rows are the games that have returns, whichever run they come from.
    ours = _scores(game_returns)
    paper = [_scores(atari57.paper_game_returns(field)) for _, field in PAPER_AGENTS]
    returns = {atari57.canonical_level_name(k): v for k, v in game_returns.items()}
    rows = [evaluation.make_row(game, returns[game], score, [p[game] for p in paper])
            for game, score in ours.items()]
    report = tables.Report('Atari-57: human-normalised scores', rows,
                           paper_columns=tuple(label for label, _ in PAPER_AGENTS))
    missing = [game for game in atari57.GAMES if game not in ours]
    if missing:
        report.notes.append(
            f'No aggregate: the Atari-57 median and mean are over all 57 games and these results '
            f'have {len(ours)} ({len(missing)} missing).')
    else:
        report.aggregates = [
            tables.Aggregate(
                f'{aggregate} over the 57 games', atari57.compute_human_normalized_score(
                    returns, aggregate, random_scores=atari57.PAPER_RANDOM_SCORES),
                tuple(atari57.PAPER_TABLE_4[field][aggregate] for _, field in PAPER_AGENTS))
            for aggregate in atari57.AGGREGATES]
        # The successor paper gives medians only, of agents trained with and without reward clipping,
        # each evaluated from "Random" and "Human" starts; ours start after 1 to 30 no-ops, the closer
        # of the two (see popart_paper on why these rows are always here).
        median = report.aggregates[atari57.AGGREGATES.index('median')].ours
        report.references = [popart_paper.reference_table(
            [(f'median over the 57 games; paper: {rewards} rewards, random starts', median, benchmark,
              'Random') for rewards, benchmark in (('clipped', 'Atari-57'),
                                                   ('unclipped', 'Atari-57 (unclipped)'))])]
    report.notes.append('Normalised with video_pinball\'s random score 0, as the paper\'s Table 4 '
                        'means were (atari57.PAPER_RANDOM_SCORES); medians are unaffected.')
    report.notes.append('Paper per-game scores: Table C.1 (up to 30 no-op starts), normalised alike.')
    if report.references:
        report.notes.append(popart_paper.NOTE)
    return report


if __name__ == '__main__':
    sys.exit(command.main(prog='python -m atari57.report'))
