"""The README and docs/: short enough to read, every link resolves, every number has its source.

The README is the entry point: it stays short and quotes headline numbers; docs/ holds one page a
topic with the runs behind them. These checks keep the two consistent: every relative link in the
README and in docs/*.md names a file of the repository (and, for a Markdown file, a heading that
exists there, by GitHub's anchor rules), and every number the README's prose and tables quote
appears in a docs/ page or a benchmarks/results file that the README links, so that a number is not
changed in one place and left in the other.
"""
import decimal
import glob
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = 'README.md'
MAX_README_LINES = 260
# Where the README's numbers must come from: its linked pages and results files.
SOURCES = ('docs/', 'benchmarks/results/')
RESULTS = 'benchmarks/results/'
# Rows of the README's Results table (their first cell) whose every number is a measurement: the
# row itself links the benchmarks/results files that hold each number it quotes, with how it was
# measured, so that a headline is never only in prose or in a figure.
MEASURED_ROWS = ('Throughput', 'Population-based training')

FENCE = re.compile(r'^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$', re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r'(`+)(?:(?!\1).)+?\1', re.DOTALL)
# [text](target) and ![alt](target), with an optional "title".
LINK = re.compile(r'!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()\s<>]+)>?(?:\s+"[^"]*")?\s*\)')
HEADING = re.compile(r'^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$', re.MULTILINE)
# A number: optional sign, digits with optional thousands commas, decimals, exponent. A version
# such as 4.2.3 is one token. What follows (M, %, min, ...) is not part of it.
NUMBER = re.compile(r'([+\-\u2212]?)(\d{1,3}(?:,\d{3})+(?![\d])|\d+)((?:\.\d+)+)?([eE][+\-]?\d+)?')
# A word with digits in it or after it (DMLab-30, x86-64, conv_2, float32, G.1, pong_learning.md).
NAME = re.compile(r'\b[A-Za-z_]\w*(?:[-.]\w+)*')
DATE = re.compile(r'\b\d{4}-\d{2}-\d{2}\b')
YEAR = re.compile(r'(?<![\d,.])\b(?:19|20)\d{2}\b(?![,.]?\d)')
LIST_COUNTER = re.compile(r'^(\s*)\d+[.)](?=\s)', re.MULTILINE)


def read(path):
  with open(os.path.join(REPO, path), encoding='utf-8') as f:
    return f.read()


def markdown_files():
  return [README] + sorted(os.path.relpath(path, REPO)
                           for path in glob.glob(os.path.join(REPO, 'docs', '*.md')))


def without_code(text):
  """The text without fenced code blocks and inline code spans (commands, flags, paths)."""
  text = FENCE.sub('', text)
  return INLINE_CODE.sub(' ', text)


# --- Links ---------------------------------------------------------------------------------------

def links(text):
  """The targets of the Markdown links and images outside code."""
  return [match.group(2) for match in LINK.finditer(without_code(text))]


def slug(heading):
  """GitHub's anchor for a heading: its text, lower case, without punctuation, spaces as hyphens."""
  heading = LINK.sub(lambda match: match.group(1), heading)
  heading = heading.replace('`', '').strip().lower()
  heading = re.sub(r'[^\w\- ]', '', heading)
  return heading.replace(' ', '-')


def anchors(text):
  """Every anchor a Markdown file's headings make (a repeated heading gets -1, -2, ...)."""
  seen, result = {}, set()
  for match in HEADING.finditer(FENCE.sub('', text)):
    base = slug(match.group(2))
    anchor = base if base not in seen else f'{base}-{seen[base]}'
    seen[base] = seen.get(base, 0) + 1
    result.add(anchor)
  return result


def link_problems(path, root=REPO):
  """What is wrong with the relative links of the Markdown file `path` (relative to root)."""
  with open(os.path.join(root, path), encoding='utf-8') as f:
    text = f.read()
  problems = []
  for target in links(text):
    if re.match(r'[a-z][a-z0-9+.-]*:', target, re.IGNORECASE):
      continue  # http:, https:, mailto: ...
    file_part, _, anchor = target.partition('#')
    resolved = os.path.normpath(os.path.join(os.path.dirname(os.path.join(root, path)), file_part))
    if not resolved.startswith(os.path.abspath(root) + os.sep) and resolved != os.path.abspath(root):
      problems.append(f'{path}: {target} points outside the repository')
      continue
    if not os.path.exists(resolved):
      problems.append(f'{path}: {target} does not exist')
      continue
    if anchor and resolved.endswith('.md'):
      with open(resolved, encoding='utf-8') as f:
        if anchor not in anchors(f.read()):
          problems.append(f'{path}: {target}: no heading makes #{anchor}')
  return problems


# --- Numbers -------------------------------------------------------------------------------------

def numbers(text):
  """The numbers in a text, normalised: 3,295 is 3295, +18 is 18, 1e-5 is 0.00001, 4.2.3 stays.

  A number that is part of a name (DMLab-30, x86-64, float32, conv_2, G.1) is not a number; a
  hyphen after a number (22-49, 4.38M-8.24M) makes a range, one after a space or a bracket a minus.
  """
  text = NAME.sub(' ', text)
  found = set()
  for match in NUMBER.finditer(text):
    sign, start = match.group(1), match.start()
    before = text[start - 1] if start else ' '
    if sign:
      unit = start
      while unit > 0 and (text[unit - 1].isalpha() or text[unit - 1] in '%\u00b5'):
        unit -= 1  # 4.38M-8.24M: the range goes on after a unit.
      if unit > 0 and text[unit - 1].isdigit():
        sign = ''
      elif before.isalnum() or before in '_./\\':
        continue
    elif before.isalnum() or before in '_./\\':
      continue
    digits, decimals, exponent = match.group(2).replace(',', ''), match.group(3), match.group(4)
    if decimals and decimals.count('.') > 1:
      found.add(digits + decimals)  # A version.
      continue
    value = decimal.Decimal(digits + (decimals or '') + (exponent or ''))
    found.add(-value if sign in ('-', '\u2212') else value)
  return found


def quoted_numbers(readme):
  """The numbers the README quotes in its prose, tables and headings: not in code, link targets,
  list counters or dates, and not years."""
  text = without_code(readme)
  text = LINK.sub(lambda match: ' ' + match.group(1) + ' ', text)
  text = YEAR.sub(' ', DATE.sub(' ', text))
  text = LIST_COUNTER.sub(r'\1', text)
  return numbers(text)


def linked_sources(readme, root=REPO):
  """The docs/ pages and benchmarks/results files the README links, as text."""
  texts = {}
  for target in links(readme):
    path = os.path.normpath(target.partition('#')[0])
    if path.startswith(SOURCES) and not path.endswith(('.png', '.jpg', '.svg', '.gif')):
      full = os.path.join(root, path)
      if os.path.isfile(full):
        with open(full, encoding='utf-8') as f:
          texts[path] = f.read()
  return texts


def missing_numbers(readme, root=REPO):
  sources = linked_sources(readme, root)
  found = set().union(*(numbers(text) for text in sources.values())) if sources else set()
  return sorted((str(number) for number in quoted_numbers(readme) - found), key=str)


def results_rows(readme):
  """{first cell: the row} of the README's Results table."""
  section = readme[readme.index('\n## Results'):]
  section = section[:section.find('\n## ', 1)]
  rows = [line for line in section.splitlines() if line.startswith('|')][2:]  # Past the header.
  return {row.split('|')[1].strip(): row for row in rows}


def unsourced_numbers(row, root=REPO):
  """The results files a row links, and the numbers it quotes that none of them holds."""
  files = {os.path.normpath(target.partition('#')[0]) for target in links(row)}
  files = sorted(path for path in files if path.startswith(RESULTS)
                 and not path.endswith(('.png', '.jpg', '.svg', '.gif')))
  found = set()
  for path in files:
    with open(os.path.join(root, path), encoding='utf-8') as f:
      found |= numbers(f.read())
  return files, sorted((str(number) for number in quoted_numbers(row) - found), key=str)


# --- The tests -----------------------------------------------------------------------------------

def test_readme_is_short():
  lines = len(read(README).splitlines())
  assert lines <= MAX_README_LINES, (
      f'README.md has {lines} lines, more than {MAX_README_LINES}: move the detail to docs/')


@pytest.mark.parametrize('path', markdown_files())
def test_relative_links_resolve(path):
  problems = link_problems(path)
  assert not problems, 'broken links:\n' + '\n'.join(problems)


def test_readme_links_every_docs_page():
  linked = {os.path.normpath(target.partition('#')[0]) for target in links(read(README))}
  pages = set(markdown_files()[1:])
  assert pages, 'docs/ has no pages'
  assert not pages - linked, f'README.md links no {", ".join(sorted(pages - linked))}'


def test_every_number_the_readme_quotes_is_in_a_page_it_links():
  readme = read(README)
  assert len(quoted_numbers(readme)) >= 30  # The extraction still finds the README's numbers.
  missing = missing_numbers(readme)
  assert not missing, ('numbers in README.md found in no docs/ page or benchmarks/results file it '
                       'links (change both, or link the page that has them): ' + ', '.join(missing))


def test_measured_results_rows_link_the_files_that_hold_their_numbers():
  rows = results_rows(read(README))
  assert set(MEASURED_ROWS) <= set(rows), f'the README\'s Results table has no row {MEASURED_ROWS}'
  for name in MEASURED_ROWS:
    files, missing = unsourced_numbers(rows[name])
    assert files, f'README.md, Results, "{name}": links no {RESULTS} file'
    assert not missing, (f'README.md, Results, "{name}": {", ".join(missing)} in none of the results '
                         f'files the row links ({", ".join(files)})')


# --- The checkers themselves ---------------------------------------------------------------------

def test_number_extraction():
  text = ('+18 within 12M frames in 10 of 10 runs; 22-49 minutes, 3,295 frames/s, 1e-5, -20.4 to '
          '-20.6, [-0.5, 0.5], 73%, Bazel 4.2.3, DMLab-30, x86-64, float32, conv_2, ln 6 = 1.79')
  expected = {decimal.Decimal(n) for n in ('18', '12', '10', '22', '49', '3295', '1e-5', '-20.4',
                                           '-20.6', '-0.5', '0.5', '73', '6', '1.79')} | {'4.2.3'}
  assert numbers(text) == expected
  assert numbers('18.0 and 0.00001') == {decimal.Decimal(18), decimal.Decimal('1e-5')}
  readme = ('1. step\n2026-11-27 in 2018, `--batch_size=8`, [run 7](docs/x.md#run-3) and\n'
            '```sh\nmake 99\n```\n| 4.38M | +20.6 | 2,025 frames/s |\n')
  assert quoted_numbers(readme) == {decimal.Decimal(n) for n in ('7', '4.38', '20.6', '2025')}


def test_checkers_catch_broken_links_and_missing_numbers(tmp_path):
  (tmp_path / 'docs').mkdir()
  (tmp_path / 'docs' / 'page.md').write_text('# A page\n\n## The runs of `make train`\n\n+18 in 10 of '
                                              '10 runs, 4.38M frames.\n')
  readme = ('# Title\n\n[ok](docs/page.md#the-runs-of-make-train) [top](#title) '
            '[gone](docs/none.md) [bad anchor](docs/page.md#the-runs) [web](https://example.com)\n'
            '\n+18 in 10 of 10 runs at 4.38M frames, 22-49 minutes.\n')
  (tmp_path / 'README.md').write_text(readme)
  assert link_problems('README.md', root=str(tmp_path)) == [
      'README.md: docs/none.md does not exist',
      'README.md: docs/page.md#the-runs: no heading makes #the-runs']
  assert missing_numbers(readme, root=str(tmp_path)) == ['22', '49']
  assert slug("What +18 in training is worth in the paper's evaluation") == (
      'what-18-in-training-is-worth-in-the-papers-evaluation')
  assert anchors('# A\n## A\n```\n# not a heading\n```\n') == {'a', 'a-1'}
  (tmp_path / 'benchmarks' / 'results').mkdir(parents=True)
  (tmp_path / 'benchmarks' / 'results' / 'run.txt').write_text('10,015 frames/s, 73% of ideal\n')
  table = ('## Results\n\n| what | result | page |\n|---|---|---|\n'
           '| Speed | 10,015 frames/s, 73% | [run](benchmarks/results/run.txt) |\n'
           '| Score | +9.8 at 5M frames | [page](docs/page.md), ![figure](benchmarks/results/x.png) |\n')
  rows = results_rows('# Title\n\n' + table + '\n## Next\n')
  assert list(rows) == ['Speed', 'Score']
  assert unsourced_numbers(rows['Speed'], root=str(tmp_path)) == (['benchmarks/results/run.txt'], [])
  assert unsourced_numbers(rows['Score'], root=str(tmp_path)) == ([], ['5', '9.8'])
