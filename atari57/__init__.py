"""Atari-57: the 57 games, their human and random scores, and human-normalised scores.

Games are named by their ale-py ROM ids ('pong', 'space_invaders'); the experiment's level name
'atari/pong' names the same game. Human and random scores are those of deepmind/dqn_zoo
(`atari_data.py`): random agent with 1-30 no-op starts, episodes capped at 108,000 frames.

The suite's score is the median (the paper's headline) or the mean over the 57 games of
100 * (mean return - random) / (human - random).

video_pinball's random score: `RANDOM_SCORES` keeps the measured 16,256.9; the paper's Table 4 means
were computed with 0.0 (as some published tables have it), which `PAPER_RANDOM_SCORES` reproduces. With
video_pinball's human-random gap of only 1,411 points, 16,256.9 turns Table C.1's deep experts' 572,898
into 40,000% and their mean over games into 1,592% instead of the paper's 957.6%. Medians do not move.

The paper's numbers (Espeholt et al. 2018, arXiv:1802.01561v3): `PAPER_TABLE_4` (aggregates) and
`PAPER_TABLE_C1` (per game, raw scores). Sources: /work/shared/reference/README.md.

`python -m atari57.report RESULTS.json [--png chart.png]` prints the paper-style report of an
evaluation results file (see `dmlab30.evaluation`, which both suites share).
"""
import collections

import numpy as np

from dmlab30 import evaluation

TITLE = 'Atari-57'
KEYED_BY = "game ids such as 'pong'"
AGGREGATES = ('median', 'mean')

# (game, human score, random score), alphabetical.
_GAMES = (
    ('alien', 7127.7, 227.8),
    ('amidar', 1719.5, 5.8),
    ('assault', 742.0, 222.4),
    ('asterix', 8503.3, 210.0),
    ('asteroids', 47388.7, 719.1),
    ('atlantis', 29028.1, 12850.0),
    ('bank_heist', 753.1, 14.2),
    ('battle_zone', 37187.5, 2360.0),
    ('beam_rider', 16926.5, 363.9),
    ('berzerk', 2630.4, 123.7),
    ('bowling', 160.7, 23.1),
    ('boxing', 12.1, 0.1),
    ('breakout', 30.5, 1.7),
    ('centipede', 12017.0, 2090.9),
    ('chopper_command', 7387.8, 811.0),
    ('crazy_climber', 35829.4, 10780.5),
    ('defender', 18688.9, 2874.5),
    ('demon_attack', 1971.0, 152.1),
    ('double_dunk', -16.4, -18.6),
    ('enduro', 860.5, 0.0),
    ('fishing_derby', -38.7, -91.7),
    ('freeway', 29.6, 0.0),
    ('frostbite', 4334.7, 65.2),
    ('gopher', 2412.5, 257.6),
    ('gravitar', 3351.4, 173.0),
    ('hero', 30826.4, 1027.0),
    ('ice_hockey', 0.9, -11.2),
    ('jamesbond', 302.8, 29.0),
    ('kangaroo', 3035.0, 52.0),
    ('krull', 2665.5, 1598.0),
    ('kung_fu_master', 22736.3, 258.5),
    ('montezuma_revenge', 4753.3, 0.0),
    ('ms_pacman', 6951.6, 307.3),
    ('name_this_game', 8049.0, 2292.3),
    ('phoenix', 7242.6, 761.4),
    ('pitfall', 6463.7, -229.4),
    ('pong', 14.6, -20.7),
    ('private_eye', 69571.3, 24.9),
    ('qbert', 13455.0, 163.9),
    ('riverraid', 17118.0, 1338.5),
    ('road_runner', 7845.0, 11.5),
    ('robotank', 11.9, 2.2),
    ('seaquest', 42054.7, 68.4),
    ('skiing', -4336.9, -17098.1),
    ('solaris', 12326.7, 1236.3),
    ('space_invaders', 1668.7, 148.0),
    ('star_gunner', 10250.0, 664.0),
    ('surround', 6.5, -10.0),
    ('tennis', -8.3, -23.8),
    ('time_pilot', 5229.2, 3568.0),
    ('tutankham', 167.6, 11.4),
    ('up_n_down', 11693.2, 533.4),
    ('venture', 1187.5, 0.0),
    ('video_pinball', 17667.9, 16256.9),
    ('wizard_of_wor', 4756.5, 563.5),
    ('yars_revenge', 54576.9, 3092.9),
    ('zaxxon', 9173.3, 32.5),
)

GAMES = tuple(game for game, _, _ in _GAMES)
HUMAN_SCORES = {game: human for game, human, _ in _GAMES}
RANDOM_SCORES = {game: random for game, _, random in _GAMES}
# The random scores behind the paper's Table 4 means (see the module docstring): only video_pinball
# differs. With them Table C.1 gives means of 176.6 / 466.1 / 957.3 against the printed 176.9 / 466.4 /
# 957.6 (deep multi-task / shallow experts / deep experts); with RANDOM_SCORES 179.4 / 707.4 / 1592.5.
PAPER_RANDOM_SCORES = dict(RANDOM_SCORES, video_pinball=0.0)

# Paper Table 4: human-normalised scores over the 57 games in % (200M frames per game for experts,
# up to 30 no-op starts); None where the paper gives no number.
PAPER_TABLE_4 = {
    'impala_shallow_experts': {'median': 93.2, 'mean': 466.4},
    'impala_deep_experts': {'median': 191.8, 'mean': 957.6},
    'impala_deep_multitask': {'median': 59.7, 'mean': 176.9},
    'reactor_experts': {'median': 187.0, 'mean': None},
    'a3c_shallow_experts': {'median': None, 'mean': 285.9},
    'a3c_deep_experts': {'median': None, 'mean': 503.6},
}

# Paper Table C.1: per-game raw scores (mean returns); None where the paper prints N/A.
C1Row = collections.namedtuple(
    'C1Row', 'acktr reactor impala_deep_multitask impala_shallow_experts impala_deep_experts')
PAPER_TABLE_C1 = collections.OrderedDict([
    ('alien', C1Row(3197.1, 6482.1, 2344.6, 1536.05, 15962.1)),
    ('amidar', C1Row(1059.4, 833.0, 136.82, 497.62, 1554.79)),
    ('assault', C1Row(10777.7, 11013.5, 2116.32, 12086.86, 19148.47)),
    ('asterix', C1Row(31583.0, 36238.5, 2609.0, 29692.5, 300732.0)),
    ('asteroids', C1Row(34171.6, 2780.4, 2011.05, 3508.1, 108590.05)),
    ('atlantis', C1Row(3433182.0, 308258.0, 460430.5, 773355.5, 849967.5)),
    ('bank_heist', C1Row(1289.7, 988.7, 55.15, 1200.35, 1223.15)),
    ('battle_zone', C1Row(8910.0, 61220.0, 7705.0, 13015.0, 20885.0)),
    ('beam_rider', C1Row(13581.4, 8566.5, 698.36, 8219.92, 32463.47)),
    ('berzerk', C1Row(927.2, 1641.4, 647.8, 888.3, 1852.7)),
    ('bowling', C1Row(24.3, 75.4, 31.06, 35.73, 59.92)),
    ('boxing', C1Row(1.45, 99.4, 96.63, 96.3, 99.96)),
    ('breakout', C1Row(735.7, 518.4, 35.67, 640.43, 787.34)),
    ('centipede', C1Row(7125.28, 3402.8, 4916.84, 5528.13, 11049.75)),
    ('chopper_command', C1Row(None, 37568.0, 5036.0, 5012.0, 28255.0)),
    ('crazy_climber', C1Row(150444.0, 194347.0, 115384.0, 136211.5, 136950.0)),
    ('defender', C1Row(None, 113128.0, 16667.5, 58718.25, 185203.0)),
    ('demon_attack', C1Row(274176.7, 100189.0, 10095.2, 107264.73, 132826.98)),
    ('double_dunk', C1Row(-0.54, 11.4, -1.92, -0.35, -0.33)),
    ('enduro', C1Row(0.0, 2230.1, 971.28, 0.0, 0.0)),
    ('fishing_derby', C1Row(33.73, 23.2, 35.27, 32.08, 44.85)),
    ('freeway', C1Row(0.0, 31.4, 21.41, 0.0, 0.0)),
    ('frostbite', C1Row(None, 8042.1, 2744.15, 269.65, 317.75)),
    ('gopher', C1Row(47730.8, 69135.1, 913.5, 1002.4, 66782.3)),
    ('gravitar', C1Row(None, 1073.8, 282.5, 211.5, 359.5)),
    ('hero', C1Row(None, 35542.2, 18818.9, 33853.15, 33730.55)),
    ('ice_hockey', C1Row(-4.2, 3.4, -13.55, -5.25, 3.48)),
    ('jamesbond', C1Row(490.0, 7869.2, 284.0, 440.0, 601.5)),
    ('kangaroo', C1Row(3150.0, 10484.5, 8240.5, 47.0, 1632.0)),
    ('krull', C1Row(9686.9, 9930.8, 10807.8, 9247.6, 8147.4)),
    ('kung_fu_master', C1Row(34954.0, 59799.5, 41905.0, 42259.0, 43375.5)),
    ('montezuma_revenge', C1Row(None, 2643.5, 0.0, 0.0, 0.0)),
    ('ms_pacman', C1Row(None, 2724.3, 3415.05, 6501.71, 7342.32)),
    ('name_this_game', C1Row(None, 9907.2, 5719.3, 6049.55, 21537.2)),
    ('phoenix', C1Row(133433.7, 40092.2, 7486.5, 33068.15, 210996.45)),
    ('pitfall', C1Row(-1.1, -3.5, -1.22, -11.14, -1.66)),
    ('pong', C1Row(20.9, 20.7, 8.58, 20.4, 20.98)),
    ('private_eye', C1Row(None, 15177.1, 0.0, 92.42, 98.5)),
    ('qbert', C1Row(23151.5, 22956.5, 10717.38, 18901.25, 351200.12)),
    ('riverraid', C1Row(17762.8, 16608.3, 2850.15, 17401.9, 29608.05)),
    ('road_runner', C1Row(53446.0, 71168.0, 24435.5, 37505.0, 57121.0)),
    ('robotank', C1Row(16.5, 68.5, 9.94, 2.3, 12.96)),
    ('seaquest', C1Row(1776.0, 8425.8, 844.6, 1716.9, 1753.2)),
    ('skiing', C1Row(None, -10753.4, -8988.0, -29975.0, -10180.38)),
    ('solaris', C1Row(2368.6, 2760.0, 1160.4, 2368.4, 2365.0)),
    ('space_invaders', C1Row(19723.0, 2448.6, 199.65, 1726.28, 43595.78)),
    ('star_gunner', C1Row(82920.0, 70038.0, 1855.5, 69139.0, 200625.0)),
    ('surround', C1Row(None, 6.7, -8.51, -8.13, 7.56)),
    ('tennis', C1Row(None, 23.3, -8.12, -1.89, 0.55)),
    ('time_pilot', C1Row(22286.0, 19401.0, 3747.5, 6617.5, 48481.5)),
    ('tutankham', C1Row(314.3, 272.6, 105.22, 267.82, 292.11)),
    ('up_n_down', C1Row(436665.8, 64354.2, 82155.3, 273058.1, 332546.75)),
    ('venture', C1Row(None, 1597.5, 1.0, 0.0, 0.0)),
    ('video_pinball', C1Row(100496.6, 469366.0, 20125.14, 228642.52, 572898.27)),
    ('wizard_of_wor', C1Row(702.0, 13170.5, 2106.0, 4203.0, 9157.5)),
    ('yars_revenge', C1Row(125169.0, 102760.0, 14739.41, 80530.13, 84231.14)),
    ('zaxxon', C1Row(17448.0, 25215.5, 6497.0, 1148.5, 32935.5)),
])


def canonical_level_name(name):
    """The game id for 'pong' or the experiment's 'atari/pong'; ValueError for anything else."""
    if isinstance(name, str):
        game = name[len('atari/'):] if name.startswith('atari/') else name
        if game in HUMAN_SCORES:
            return game
    raise ValueError(f'{name!r} is not an Atari-57 game')


def paper_game_returns(agent):
    """Table C.1's score of `agent` (a C1Row field) per game, as one-episode return lists (the input
    format of the scoring functions); games where the paper has N/A are left out."""
    return {game: [getattr(row, agent)] for game, row in PAPER_TABLE_C1.items()
            if getattr(row, agent) is not None}


def human_normalized_scores(game_returns, per_game_cap=None, random_scores=None):
    """Per-game human-normalised score in %: 100 * (mean return - random) / (human - random).

    Args:
      game_returns: dict game ('pong' or 'atari/pong') -> list of episode returns; any subset of games.
      per_game_cap: cap each game's score at this value, or None.
      random_scores: dict game -> random score; default RANDOM_SCORES (PAPER_RANDOM_SCORES for the
        paper's convention).
    Returns:
      dict game id -> score, in alphabetical game order.
    Raises:
      ValueError: naming unknown games, games given twice, or games without returns.
    """
    return _normalized_scores(game_returns, per_game_cap, random_scores, require_all=False)


def compute_human_normalized_score(game_returns, aggregate='median', per_game_cap=None,
                                   random_scores=None):
    """The Atari-57 score in %: median or mean over all 57 games of the (capped) per-game score.

    Args:
      game_returns: dict game -> list of episode returns, for all 57 games.
      aggregate: 'median' (the paper's headline) or 'mean'.
      per_game_cap: cap each game's score at this value before aggregating, or None.
      random_scores: as in human_normalized_scores.
    Raises:
      ValueError: for another `aggregate`, or naming missing or unknown games.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f'aggregate must be one of {AGGREGATES}, got {aggregate!r}')
    values = list(_normalized_scores(game_returns, per_game_cap, random_scores, require_all=True)
                  .values())
    return float(np.median(values) if aggregate == 'median' else np.mean(values))


def _normalized_scores(game_returns, cap, random_scores, require_all):
    return evaluation.normalized_scores(
        game_returns, human_scores=HUMAN_SCORES,
        random_scores=RANDOM_SCORES if random_scores is None else random_scores,
        canonical_level_name=canonical_level_name, title=TITLE, cap=cap, require_all=require_all)
