"""Evaluation results: the file `experiment.py --mode=test` writes, and the paper-style report on it.

This module is suite-agnostic: it serves DMLab-30 (`dmlab30`), Atari-57 (`atari57`) and single levels
outside both. It lives in `dmlab30`, the original release's home suite, because the repository keeps
no top-level package for shared code; `atari57` imports it from here. The suites plug in through their
package's `TITLE`, `KEYED_BY` and `canonical_level_name(name)`, and their
`report.build_report(level_returns, whole_suite)`, which returns a `dmlab30.tables.Report`; that module
shows it (the text table and the PNG chart).

The results file (JSON, format "impala-evaluation-v1"):

    {"format": "impala-evaluation-v1",
     "level_name": "dmlab30",          # the run's --level_name flag: 'dmlab30', 'atari57',
                                       # 'atari/pong', 'rooms_watermaze', 'seekavoid_arena_01', ...
     "suite": "dmlab30",               # 'dmlab30', 'atari57' or null (a level of neither suite)
     "episode_returns": {"rooms_watermaze": [31.0, 27.0], ...},
     "metadata": {"created": "2018-02-05T12:00:00+00:00", "frames": ..., "checkpoint": ..., "config": {...}}}

Keys of "episode_returns" are canonical for the suite: DMLab-30 *test* level names (as the original's
scores are keyed), Atari game ids ('pong', not 'atari/pong'). `write_results` maps the other spellings
('rooms_collect_good_objects_train', 'atari/pong') to them; `read_results` accepts only canonical keys.

API for experiment.py:
    write_results(path, level_returns, level_name, metadata=None) -> dict
    read_results(path) -> dict
    print_report(results, png_path=None) -> str     (prints the report and returns its text)
    format_report(results, png_path=None) -> str    (the same, without printing)

Command line (`dmlab30/command.py`: `python -m dmlab30.report` and `python -m atari57.report` are the
same command; both dispatch on the files' "suite", and several files of one suite merge):
    python -m dmlab30.report RESULTS.json [MORE.json or 'runs/*/evaluation.json' ...] [--png chart.png]
"""
import datetime
import importlib
import json
import numbers
import os
import tempfile

import numpy as np

from dmlab30 import tables

FORMAT = 'impala-evaluation-v1'
SUITES = ('dmlab30', 'atari57')  # package names; each package is the suite's home.

_KEYS = ('format', 'level_name', 'suite', 'episode_returns', 'metadata')


# --- Human-normalised scores (the formula both suites share) ------------------------------------------

def mean_return(level, returns):
    """The mean of one level's episode returns; ValueError naming the level if they are not usable."""
    if isinstance(returns, (str, bytes, dict)) or np.ndim(returns) != 1:
        raise ValueError(f'{level!r}: expected a list of episode returns, got {returns!r}')
    # Checked one by one: numpy would silently convert '21' and True.
    if not all(isinstance(r, numbers.Real) and not isinstance(r, bool) for r in returns):
        raise ValueError(f'{level!r}: episode returns must be numbers, got {returns!r}')
    values = np.asarray(returns, dtype=np.float64)
    if values.size == 0:
        raise ValueError(f'{level!r}: no episode returns')
    if not np.all(np.isfinite(values)):
        raise ValueError(f'{level!r}: episode returns must be finite, got {returns!r}')
    return float(values.mean())


def normalized_scores(level_returns, *, human_scores, random_scores, canonical_level_name, title,
                      cap=None, require_all=False):
    """100 * (mean return - random) / (human - random) per level, optionally capped at `cap`.

    Keys of `level_returns` go through `canonical_level_name`; the result is keyed by canonical names,
    in the order of `human_scores`. Raises ValueError naming unknown levels, two spellings of one level,
    and, with `require_all`, missing levels.
    """
    returns = canonical_returns(level_returns, canonical_level_name, title)
    if require_all:
        missing = [level for level in human_scores if level not in returns]
        if missing:
            raise ValueError(f'Missing {title} levels ({len(missing)} of {len(human_scores)}): {missing}')
    scores = {}
    for level in human_scores:
        if level in returns:
            human, random = human_scores[level], random_scores[level]
            score = 100.0 * (mean_return(level, returns[level]) - random) / (human - random)
            scores[level] = score if cap is None else min(score, cap)
    return scores


def canonical_returns(level_returns, canonical_level_name, title):
    """`level_returns` re-keyed by canonical level names; ValueError on unknown or duplicate levels."""
    if not isinstance(level_returns, dict):
        raise ValueError(f'level returns must be a dict of level name -> episode returns, '
                         f'got {type(level_returns).__name__}')
    canonical, unknown = {}, []
    for name, returns in level_returns.items():
        try:
            level = canonical_level_name(name)
        except ValueError:
            unknown.append(name)
            continue
        if level in canonical:
            raise ValueError(f'{title} level {level!r} is given twice: as {canonical[level][0]!r} '
                             f'and as {name!r}')
        canonical[level] = (name, returns)
    if unknown:
        raise ValueError(f'Unknown {title} levels: {unknown}')
    return {level: returns for level, (_, returns) in canonical.items()}


# --- The results file ---------------------------------------------------------------------------------

def _suite_module(suite):
    return importlib.import_module(suite)


def suite_for_level_name(level_name):
    """The suite a --level_name flag belongs to ('dmlab30', 'atari57'), or None for other levels.

    'dmlab30' and 'atari57' name the suites themselves; a single level of a suite ('rooms_watermaze',
    'rooms_collect_good_objects_train', 'atari/pong') belongs to it too, so its score is normalised.
    """
    if not isinstance(level_name, str) or not level_name:
        raise ValueError(f'level_name must be a non-empty string, got {level_name!r}')
    for suite in SUITES:
        if level_name == suite:
            return suite
        try:
            _suite_module(suite).canonical_level_name(level_name)
        except ValueError:
            continue
        return suite
    return None


def write_results(path, level_returns, level_name, metadata=None):
    """Writes an evaluation results file (atomically) and returns what it wrote, as a dict.

    Args:
      path: where to write the JSON file.
      level_returns: dict level name -> list of episode returns. For a suite, any spelling its package
        accepts (training or test DMLab-30 names; 'pong' or 'atari/pong'); stored under canonical names.
      level_name: the run's --level_name flag; it decides the suite.
      metadata: dict of JSON-serialisable run facts (frames, checkpoint, config, ...); 'created' (the
        current UTC time, ISO 8601) is added unless given.
    """
    suite = suite_for_level_name(level_name)
    if not isinstance(level_returns, dict):
        raise ValueError(f'level_returns must be a dict, got {type(level_returns).__name__}')
    if suite is not None:
        module = _suite_module(suite)
        level_returns = canonical_returns(level_returns, module.canonical_level_name, module.TITLE)
    metadata = dict(metadata or {})
    metadata.setdefault('created', datetime.datetime.now(datetime.timezone.utc).isoformat())
    results = {
        'format': FORMAT,
        'level_name': level_name,
        'suite': suite,
        # Lists of floats (numpy arrays and scalars become plain JSON numbers).
        'episode_returns': {level: _float_list(level, r) for level, r in level_returns.items()},
        'metadata': metadata,
    }
    results = validate_results(results)
    try:
        text = json.dumps(results, indent=2, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as e:
        raise ValueError(f'metadata is not JSON-serialisable: {e}') from None
    # Write to a temporary file beside `path`, then rename: a crash never leaves half a file.
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.results-', suffix='.json')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text + '\n')
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return results


def _float_list(level, returns):
    mean_return(level, returns)  # Validates: a non-empty 1-D list of finite numbers.
    return [float(r) for r in returns]


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f'{type(value).__name__} {value!r} is not JSON-serialisable')


def read_results(path):
    """Reads and validates an evaluation results file; ValueError says what is wrong with it."""
    with open(path) as f:
        try:
            results = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}: not a JSON file ({e})') from None
    return validate_results(results, source=str(path))


def validate_results(results, source='results'):
    """Checks a results dict (as read from JSON); returns it with episode returns as float lists."""
    def fail(message):
        raise ValueError(f'{source}: {message}')

    if not isinstance(results, dict):
        fail(f'expected a JSON object, got {type(results).__name__}')
    if results.get('format') != FORMAT:
        fail(f'"format" is {results.get("format")!r}, expected {FORMAT!r} '
             '(not an IMPALA evaluation results file, or one of another version)')
    missing = [key for key in _KEYS if key not in results]
    if missing:
        fail(f'missing keys: {missing}')
    unexpected = sorted(set(results) - set(_KEYS))
    if unexpected:
        fail(f'unexpected keys: {unexpected}')
    level_name, suite = results['level_name'], results['suite']
    try:
        expected_suite = suite_for_level_name(level_name)
    except ValueError as e:
        fail(str(e))
    if suite is not None and suite not in SUITES:
        fail(f'"suite" is {suite!r}, expected one of {list(SUITES)} or null')
    if suite != expected_suite:
        fail(f'"suite" is {suite!r} but level_name {level_name!r} belongs to {expected_suite!r}')
    if not isinstance(results['metadata'], dict):
        fail(f'"metadata" must be an object, got {type(results["metadata"]).__name__}')
    episode_returns = results['episode_returns']
    if not isinstance(episode_returns, dict) or not episode_returns:
        fail('"episode_returns" must be a non-empty object of level name -> list of returns')
    if not all(isinstance(level, str) and level for level in episode_returns):
        fail(f'"episode_returns" keys must be non-empty level names, got {list(episode_returns)}')
    if suite is not None:
        module = _suite_module(suite)
        wrong = [level for level in episode_returns if _canonical_or_none(module, level) != level]
        if wrong:
            fail(f'"episode_returns" has keys that are not {module.TITLE} level names as stored '
                 f'({module.KEYED_BY}): {wrong}')
    checked = {}
    for level, returns in episode_returns.items():
        try:
            checked[level] = _float_list(level, returns)
        except ValueError as e:
            fail(f'"episode_returns" {e}')
    return dict(results, episode_returns=checked)


def _canonical_or_none(module, level):
    try:
        return module.canonical_level_name(level)
    except ValueError:
        return None


# --- The report (its content and display: `dmlab30.tables`) -------------------------------------------

def make_row(level, returns, ours=None, paper=()):
    return tables.Row(level, len(returns), mean_return(level, returns), ours, tuple(paper))


def _build_report(results):
    suite = results['suite']
    if suite is not None:
        report = importlib.import_module(suite + '.report').build_report(
            results['episode_returns'], whole_suite=results['level_name'] == suite)
    else:
        rows = [make_row(level, r) for level, r in results['episode_returns'].items()]
        report = tables.Report(f'{results["level_name"]}: episode returns', rows,
                               notes=['Not a DMLab-30 level or Atari-57 game: no human/random '
                                      'reference, so no normalised score.'])
    return report


def format_report(results, png_path=None):
    """The report on `results` (a dict from read_results, or a path) as text; writes the PNG chart."""
    if isinstance(results, (str, os.PathLike)):
        results = read_results(results)
    else:
        results = validate_results(results)
    report = _build_report(results)
    if png_path is not None:
        if any(row.ours is not None for row in report.rows):
            tables.write_png(report, png_path)
            report.notes.append(f'Chart written to {png_path}.')
        else:
            report.notes.append(f'No chart written to {png_path}: there are no normalised scores.')
    return tables.format_text(report, results)


def print_report(results, png_path=None):
    """Prints the report on `results` (see format_report) and returns its text."""
    text = format_report(results, png_path)
    print(text)
    return text
