"""The report command: `python -m dmlab30.report` and `python -m atari57.report` run `main`.

    python -m atari57.report a/evaluation.json b/evaluation.json [--png chart.png] [--out merged.json]
    python -m atari57.report '/runs/atari/*/evaluation.json'

Several results files of one suite (the Atari experts are evaluated game by game) merge into one
table and chart; `--out` also writes the merged results file.
"""
import argparse
import glob
import sys

from dmlab30 import evaluation


def merge_results(results_list, sources):
    """One results dict of several runs' (each a level or some levels of one suite, as the Atari
    experts are evaluated game by game); ValueError if their suites differ or a level comes twice."""
    if len(results_list) == 1:
        return results_list[0]
    suites = {results['suite'] for results in results_list}
    if len(suites) != 1 or None in suites:
        raise ValueError(f'only results of one suite (dmlab30 or atari57) merge; these are of '
                         f'{sorted(str(s) for s in suites)}')
    returns, origin = {}, {}
    for results, source in zip(results_list, sources):
        for level, level_returns in results['episode_returns'].items():
            if level in returns:
                raise ValueError(f'{level} is in both {origin[level]} and {source}')
            returns[level], origin[level] = level_returns, source
    return evaluation.validate_results(dict(
        format=evaluation.FORMAT, level_name=suites.pop(), suite=results_list[0]['suite'],
        episode_returns=returns, metadata={'merged_from': list(sources)}))


def main(argv=None, prog=None):
    parser = argparse.ArgumentParser(
        prog=prog, description='Prints the paper-style score table of IMPALA evaluation results files '
        '(DMLab-30, Atari-57 or any single level) and optionally writes a bar chart. Several files of '
        'one suite (or globs of them) merge into one table.')
    parser.add_argument('results', nargs='+',
                        help='JSON files written by experiment.py --mode=test, or globs of them')
    parser.add_argument('--png', help='write a PNG bar chart of per-level normalised scores here')
    parser.add_argument('--out', help='write the merged results file here')
    args = parser.parse_args(argv)
    paths = []
    for pattern in args.results:
        paths.extend(sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern])
    try:
        if not paths:
            raise ValueError(f'no file matches {args.results}')
        results = merge_results([evaluation.read_results(path) for path in paths], paths)
        if args.out:
            evaluation.write_results(args.out, results['episode_returns'], results['level_name'],
                                     results['metadata'])
    except (OSError, ValueError) as e:
        print(f'{parser.prog}: error: {e}', file=sys.stderr)
        return 1
    evaluation.print_report(results, args.png)
    return 0
