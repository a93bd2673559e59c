"""DMLab-30: the 30 levels, their human and random scores, and the human-normalised score.

Scores are keyed by *test* level name, as in the original release (`dmlab30.py` of
deepmind/scalable_agent). Two levels have distinct training and test versions
('rooms_collect_good_objects_train' / '..._test', 'rooms_exploit_deferred_effects_train' / '..._test');
the other 28 use one name for both.

Level names given to `human_normalized_scores` and `compute_human_normalized_score` may be test or
training names: a training name is mapped to its test name (as the original did), so an agent tested
on the training variant is scored against the test variant's human and random scores. Naming both
versions of one level is an error, as is any name outside DMLab-30 (the original meant to skip those
but failed on them with a KeyError).

The paper's numbers (Espeholt et al. 2018, arXiv:1802.01561v3): `PAPER_TABLE_3` (aggregates) and
`PAPER_TABLE_B1` (per level). Sources of every number: /work/shared/reference/README.md.

Submodules: `dmlab30.evaluation` (the evaluation results file and the report; suite-agnostic, used by
atari57 too), `dmlab30.tables` (the report's rows and how they are shown, text and chart),
`dmlab30.popart_paper` (the successor PopArt paper's aggregates, both suites') and `dmlab30.report`
(the DMLab-30 report; `python -m dmlab30.report RESULTS.json`).
"""
import collections

import numpy as np

from dmlab30 import evaluation

TITLE = 'DMLab-30'
KEYED_BY = 'test level names'

# (training name, test name, human score, random score), in the release's order.
_LEVELS = (
    ('rooms_collect_good_objects_train', 'rooms_collect_good_objects_test', 10.0, 0.073),
    ('rooms_exploit_deferred_effects_train', 'rooms_exploit_deferred_effects_test', 85.65, 8.501),
    ('rooms_select_nonmatching_object', 'rooms_select_nonmatching_object', 65.9, 0.312),
    ('rooms_watermaze', 'rooms_watermaze', 54.0, 4.065),
    ('rooms_keys_doors_puzzle', 'rooms_keys_doors_puzzle', 53.8, 4.135),
    ('language_select_described_object', 'language_select_described_object', 389.5, -0.07),
    ('language_select_located_object', 'language_select_located_object', 280.7, 1.929),
    ('language_execute_random_task', 'language_execute_random_task', 254.05, -5.913),
    ('language_answer_quantitative_question', 'language_answer_quantitative_question', 184.5, -0.33),
    ('lasertag_one_opponent_small', 'lasertag_one_opponent_small', 12.65, -0.224),
    ('lasertag_three_opponents_small', 'lasertag_three_opponents_small', 18.55, -0.214),
    ('lasertag_one_opponent_large', 'lasertag_one_opponent_large', 18.6, -0.083),
    ('lasertag_three_opponents_large', 'lasertag_three_opponents_large', 31.5, -0.102),
    ('natlab_fixed_large_map', 'natlab_fixed_large_map', 36.9, 2.173),
    ('natlab_varying_map_regrowth', 'natlab_varying_map_regrowth', 24.45, 2.989),
    ('natlab_varying_map_randomized', 'natlab_varying_map_randomized', 42.35, 7.346),
    ('skymaze_irreversible_path_hard', 'skymaze_irreversible_path_hard', 100.0, 0.1),
    ('skymaze_irreversible_path_varied', 'skymaze_irreversible_path_varied', 100.0, 14.4),
    ('psychlab_arbitrary_visuomotor_mapping', 'psychlab_arbitrary_visuomotor_mapping', 58.75, 0.163),
    ('psychlab_continuous_recognition', 'psychlab_continuous_recognition', 58.3, 0.224),
    ('psychlab_sequential_comparison', 'psychlab_sequential_comparison', 39.5, 0.129),
    ('psychlab_visual_search', 'psychlab_visual_search', 78.5, 0.085),
    ('explore_object_locations_small', 'explore_object_locations_small', 74.45, 3.575),
    ('explore_object_locations_large', 'explore_object_locations_large', 65.65, 4.673),
    ('explore_obstructed_goals_small', 'explore_obstructed_goals_small', 206.0, 6.76),
    ('explore_obstructed_goals_large', 'explore_obstructed_goals_large', 119.5, 2.61),
    ('explore_goal_locations_small', 'explore_goal_locations_small', 267.5, 7.66),
    ('explore_goal_locations_large', 'explore_goal_locations_large', 194.5, 3.14),
    ('explore_object_rewards_few', 'explore_object_rewards_few', 77.7, 2.073),
    ('explore_object_rewards_many', 'explore_object_rewards_many', 106.7, 2.438),
)

# Training level name -> test level name. Multi-task training runs the keys, testing the values.
LEVEL_MAPPING = collections.OrderedDict((train, test) for train, test, _, _ in _LEVELS)
TRAINING_LEVELS = tuple(LEVEL_MAPPING.keys())
TEST_LEVELS = tuple(LEVEL_MAPPING.values())
ALL_LEVELS = frozenset(TRAINING_LEVELS + TEST_LEVELS)  # Every name a DMLab-30 level goes by.

HUMAN_SCORES = {test: human for _, test, human, _ in _LEVELS}
RANDOM_SCORES = {test: random for _, test, _, random in _LEVELS}

# Paper Table 3: mean capped (at 100 per level) human-normalised test score over DMLab-30, in %.
PAPER_TABLE_3 = {
    'a3c_deep': 23.8,
    'impala_shallow': 37.1,
    'impala_experts_deep': 44.5,
    'impala_deep': 46.5,
    'impala_deep_pbt': 49.4,
    'impala_deep_pbt_8_learners': 49.1,
}

# One row of the paper's Table B.1: its printed label, its human and random columns (rounded to one
# decimal), and the mean test returns (raw, not normalised) of two agents.
B1Row = collections.namedtuple(
    'B1Row', 'paper_row_label human random impala_experts_deep impala_deep_pbt')

# Paper Table B.1, keyed by the test level each row really belongs to. The rows follow the release's
# level order, and that reading is the right one; the printed labels of four rows are not:
# - the lasertag labels are permuted (printed one_large, three_large, one_small, three_small against
#   the release's one_small, three_small, one_large, three_large); the table's own human/random
#   columns follow the release's order (12.7 ~ 12.65 is lasertag_one_opponent_small's human score);
# - 'lasertag_three_oponents_large' and 'pyschlab_*' are spelling slips.
# Numerically: reading rows by position reproduces Table 3 (experts 44.45 ~ 44.5, PBT 49.36 ~ 49.4,
# capped mean); reading them by printed label gives 45.75 and 50.06. tests/test_scores.py pins this.
PAPER_TABLE_B1 = collections.OrderedDict([
    ('rooms_collect_good_objects_test',
     B1Row('rooms_collect_good_objects_test', 10.0, 0.1, 9.0, 5.8)),
    ('rooms_exploit_deferred_effects_test',
     B1Row('rooms_exploit_deferred_effects_test', 85.7, 8.5, 15.6, 11.0)),
    ('rooms_select_nonmatching_object',
     B1Row('rooms_select_nonmatching_object', 65.9, 0.3, 7.3, 26.1)),
    ('rooms_watermaze', B1Row('rooms_watermaze', 54.0, 4.1, 26.9, 31.1)),
    ('rooms_keys_doors_puzzle', B1Row('rooms_keys_doors_puzzle', 53.8, 4.1, 28.0, 24.3)),
    ('language_select_described_object',
     B1Row('language_select_described_object', 389.5, -0.1, 324.6, 593.1)),
    ('language_select_located_object',
     B1Row('language_select_located_object', 280.7, 1.9, 189.0, 301.7)),
    ('language_execute_random_task',
     B1Row('language_execute_random_task', 254.1, -5.9, -49.9, 66.8)),
    ('language_answer_quantitative_question',
     B1Row('language_answer_quantitative_question', 184.5, -0.3, 219.4, 264.0)),
    ('lasertag_one_opponent_small', B1Row('lasertag_one_opponent_large', 12.7, -0.2, -0.2, 0.3)),
    ('lasertag_three_opponents_small', B1Row('lasertag_three_oponents_large', 18.6, -0.2, -0.1, 4.1)),
    ('lasertag_one_opponent_large', B1Row('lasertag_one_opponent_small', 18.6, -0.1, -0.1, 2.5)),
    ('lasertag_three_opponents_large',
     B1Row('lasertag_three_opponents_small', 31.5, -0.1, 19.1, 11.3)),
    ('natlab_fixed_large_map', B1Row('natlab_fixed_large_map', 36.9, 2.2, 34.7, 12.2)),
    ('natlab_varying_map_regrowth', B1Row('natlab_varying_map_regrowth', 24.4, 3.0, 20.7, 15.9)),
    ('natlab_varying_map_randomized',
     B1Row('natlab_varying_map_randomized', 42.4, 7.3, 36.1, 29.0)),
    ('skymaze_irreversible_path_hard',
     B1Row('skymaze_irreversible_path_hard', 100.0, 0.1, 13.6, 30.0)),
    ('skymaze_irreversible_path_varied',
     B1Row('skymaze_irreversible_path_varied', 100.0, 14.4, 45.1, 53.6)),
    ('psychlab_arbitrary_visuomotor_mapping',
     B1Row('pyschlab_arbitrary_visuomotor_mapping', 58.8, 0.2, 16.4, 14.3)),
    ('psychlab_continuous_recognition',
     B1Row('pyschlab_continuous_recognition', 58.3, 0.2, 29.9, 29.9)),
    ('psychlab_sequential_comparison',
     B1Row('pyschlab_sequential_comparison', 39.5, 0.1, 0.0, 0.0)),
    ('psychlab_visual_search', B1Row('pyschlab_visual_search', 78.5, 0.1, 0.0, 0.0)),
    ('explore_object_locations_small',
     B1Row('explore_object_locations_small', 74.5, 3.6, 57.8, 62.6)),
    ('explore_object_locations_large',
     B1Row('explore_object_locations_large', 65.7, 4.7, 37.0, 51.1)),
    ('explore_obstructed_goals_small',
     B1Row('explore_obstructed_goals_small', 206.0, 6.8, 135.2, 188.8)),
    ('explore_obstructed_goals_large',
     B1Row('explore_obstructed_goals_large', 119.5, 2.6, 39.5, 71.0)),
    ('explore_goal_locations_small',
     B1Row('explore_goal_locations_small', 267.5, 7.7, 209.4, 252.5)),
    ('explore_goal_locations_large',
     B1Row('explore_goal_locations_large', 194.5, 3.1, 83.1, 125.3)),
    ('explore_object_rewards_few', B1Row('explore_object_rewards_few', 77.7, 2.1, 39.8, 43.2)),
    ('explore_object_rewards_many', B1Row('explore_object_rewards_many', 106.7, 2.4, 58.7, 62.6)),
])


def canonical_level_name(name):
    """The test level name for a DMLab-30 training or test level name; ValueError otherwise."""
    if isinstance(name, str):
        if name in HUMAN_SCORES:
            return name
        if name in LEVEL_MAPPING:
            return LEVEL_MAPPING[name]
    raise ValueError(f'{name!r} is not a DMLab-30 level')


def paper_level_returns(agent):
    """Table B.1's mean test return of `agent` ('impala_experts_deep' or 'impala_deep_pbt') per level,
    as one-episode return lists (the input format of the scoring functions)."""
    return {level: [getattr(row, agent)] for level, row in PAPER_TABLE_B1.items()}


def human_normalized_scores(level_returns, per_level_cap=None):
    """Per-level human-normalised score in %: 100 * (mean return - random) / (human - random).

    Args:
      level_returns: dict DMLab-30 level name (test or training) -> list of episode returns. Any subset
        of the 30 levels.
      per_level_cap: cap each level's score at this value (e.g. 100), or None.
    Returns:
      dict test level name -> score, in the release's level order.
    Raises:
      ValueError: naming unknown levels, levels given under both names, or levels without returns.
    """
    return _normalized_scores(level_returns, per_level_cap, require_all=False)


def compute_human_normalized_score(level_returns, per_level_cap=None):
    """The DMLab-30 score in %: the mean over all 30 levels of the (capped) per-level score.

    The paper's headline number (Table 3) is the mean with per_level_cap=100.

    Args:
      level_returns: dict level name (test or training) -> list of episode returns, for all 30 levels.
      per_level_cap: cap each level's score at this value before averaging, or None for no cap.
    Raises:
      ValueError: naming missing or unknown levels, or levels without returns.
    """
    scores = _normalized_scores(level_returns, per_level_cap, require_all=True)
    return float(np.mean(list(scores.values())))


def _normalized_scores(level_returns, cap, require_all):
    return evaluation.normalized_scores(
        level_returns, human_scores=HUMAN_SCORES, random_scores=RANDOM_SCORES,
        canonical_level_name=canonical_level_name, title=TITLE, cap=cap, require_all=require_all)
