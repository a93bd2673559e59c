"""The successor PopArt paper's scores (Hessel et al. 2019, Table 1) and the reports' rows beside them.

The paper's per-level numbers were not found (see dmlab30/hessel2019_table1.csv), so its aggregates
cannot be recomputed from them as the IMPALA paper's are (tests/test_scores.py); the transcription is
checked instead against what other sources fix: the same IMPALA agent's median in the IMPALA paper, and
the claims of the paper's abstract.
"""
import re

import numpy as np
import pytest

import atari57
import dmlab30
from dmlab30 import evaluation
from dmlab30 import popart_paper
from dmlab30 import tables

POPART_TITLE = 'Beside the successor paper (Hessel et al. 2019, arXiv:1809.04474, Table 1):'


def _cell(agent, benchmark, column):
    return popart_paper.TABLE_1[(agent, benchmark, column)]


# --- The transcription --------------------------------------------------------------------------------

def test_table_1_has_every_cell_once_and_names_its_source():
    assert len(popart_paper.TABLE_1) == 12  # 2 agents x (4 Atari-57 + 2 DmLab-30) columns.
    with open(popart_paper.PATH) as f:
        notes = ' '.join(line[1:].strip() for line in f if line.startswith('#'))
    for words in ('Multi-task Deep Reinforcement Learning with PopArt', 'arXiv:1809.04474',
                  'Table 1', 'pixel-control', 'unchecked'):
        assert words in notes


def test_the_same_impala_agent_has_the_same_median_in_both_papers():
    # The PopArt paper's IMPALA on Atari-57 (clipped rewards, random starts) is the IMPALA paper's deep
    # multi-task agent (Table 4): a row or column slip in the transcription moves it.
    assert _cell('IMPALA', 'Atari-57', 'Random') == atari57.PAPER_TABLE_4['impala_deep_multitask']['median']


def test_the_abstracts_claims_hold_in_the_table():
    # "a single trained policy ... that exceeds median human performance" (random starts, with and
    # without reward clipping), and state of the art on DMLab-30: above every IMPALA paper agent.
    for benchmark in ('Atari-57', 'Atari-57 (unclipped)'):
        assert _cell('PopArt-IMPALA', benchmark, 'Random') > 100
    for column in ('Train', 'Test'):
        assert _cell('PopArt-IMPALA', 'DmLab-30', column) > max(dmlab30.PAPER_TABLE_3.values())
    # PopArt-IMPALA beats the paper's IMPALA in every column (the rows are not swapped).
    for (agent, benchmark, column), score in popart_paper.TABLE_1.items():
        assert _cell('PopArt-IMPALA', benchmark, column) > _cell('IMPALA', benchmark, column)


def test_reading_refuses_a_table_with_a_cell_missing_or_twice(tmp_path):
    with open(popart_paper.PATH) as f:
        lines = f.read().splitlines()
    data = [line for line in lines if line and not line.startswith('#')]
    missing, twice = tmp_path / 'missing.csv', tmp_path / 'twice.csv'
    missing.write_text('\n'.join(data[:-1]) + '\n')
    twice.write_text('\n'.join(data + data[-1:]) + '\n')
    with pytest.raises(ValueError, match=r"missing \[\('PopArt-IMPALA', 'DmLab-30', 'Test'\)\]"):
        popart_paper.read_table_1(str(missing))
    with pytest.raises(ValueError, match=r"\('PopArt-IMPALA', 'DmLab-30', 'Test'\) is given twice"):
        popart_paper.read_table_1(str(twice))


# --- The reports --------------------------------------------------------------------------------------

def _results(suite, returns):
    return {'format': 'impala-evaluation-v1', 'level_name': suite, 'suite': suite,
            'episode_returns': returns, 'metadata': {}}


def _normalised(returns, human, random):
    """Independent of the package's scoring: NumPy on the raw tables."""
    levels = sorted(returns)
    means = np.array([np.mean(returns[level]) for level in levels])
    return 100 * (means - np.array([random[l] for l in levels])) / (
        np.array([human[l] for l in levels]) - np.array([random[l] for l in levels]))


def _row(label, *numbers):
    return re.compile(rf'^{re.escape(label)} +' + ' +'.join(re.escape(n) for n in numbers) + '$', re.M)


def test_dmlab30_report_puts_the_capped_mean_beside_popart_impala():
    rng = np.random.default_rng(7)
    returns = {level: list(rng.uniform(-5, 1.5 * dmlab30.HUMAN_SCORES[level], size=3))
               for level in dmlab30.TEST_LEVELS}
    capped = np.mean(np.minimum(_normalised(returns, dmlab30.HUMAN_SCORES, dmlab30.RANDOM_SCORES), 100))
    text = evaluation.format_report(_results('dmlab30', returns))
    assert POPART_TITLE in text
    assert _row('mean, capped at 100 per level; paper: test levels',
                f'{capped:.1f}', '72.8', '58.4').search(text)
    assert 'PopArt rows: the successor paper\'s aggregates' in text
    # The IMPALA paper's rows are still there, first.
    assert text.index('mean, capped at 100 per level  ') < text.index(POPART_TITLE)


def test_dmlab30_report_on_a_subset_has_no_popart_rows():
    text = evaluation.format_report(_results('dmlab30', {'rooms_watermaze': [54.0]}))
    assert POPART_TITLE not in text and 'PopArt-IMPALA' not in text
    assert 'No PopArt rows: the successor paper\'s DMLab-30 score averages all 30 levels.' in text


def test_atari57_report_puts_the_median_beside_popart_impala(tmp_path):
    rng = np.random.default_rng(11)
    returns = {game: list(atari57.RANDOM_SCORES[game] + rng.uniform(0, 3, size=2) * (
        atari57.HUMAN_SCORES[game] - atari57.RANDOM_SCORES[game])) for game in atari57.GAMES}
    median = np.median(_normalised(returns, atari57.HUMAN_SCORES, atari57.PAPER_RANDOM_SCORES))
    png = str(tmp_path / 'atari57.png')
    text = evaluation.format_report(_results('atari57', returns), png_path=png)
    assert POPART_TITLE in text
    assert _row('median over the 57 games; paper: clipped rewards, random starts',
                f'{median:.1f}', '110.7', '59.7').search(text)
    assert _row('median over the 57 games; paper: unclipped rewards, random starts',
                f'{median:.1f}', '107.0', '0.3').search(text)
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_atari57_report_on_some_games_has_no_popart_rows():
    text = evaluation.format_report(_results('atari57', {'pong': [20.0]}))
    assert POPART_TITLE not in text and 'PopArt-IMPALA' not in text


def test_the_chart_title_names_the_popart_rows():
    report = tables.Report('T', [], ('A',), [tables.Aggregate('mean', 40.0, (50.0,))],
                           [popart_paper.reference_table([('capped', 40.0, 'DmLab-30', 'Test')])])
    assert tables._chart_title(report).split('\n') == [
        'T', 'mean: ours 40.0% (paper: A 50.0%)',
        'capped: ours 40.0% (PopArt-IMPALA (2019) 72.8%, IMPALA (2019) 58.4%)']
