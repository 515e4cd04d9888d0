r"""Does a parser change keep every tree and every message? `python bench/parser_corpus.py`.

It builds a corpus of rules texts, the same every time (fixed seeds): the examples of
docs/rules.md, the editor's templates, the parser tests' snippets, generated rulesets of
bench/rules.py, texts from the property tests' hypothesis strategies (derandomized) and
systematic mutations of the valid ones (tokens deleted, duplicated, swapped or replaced, typos,
case changes, truncations, lines deleted, duplicated, joined or re-indented). For each text it
records what `rules.parse` says: the tree with every span (its repr), or the diagnostics with
their positions; for a valid text also `format_rules`. Then it compares the results of the
working tree's `rules` package with those of a baseline commit's `rules/` (taken with
`git archive`, run in a separate process), and prints how many texts agree and each difference.

    python bench/parser_corpus.py [--baseline COMMIT] [--now COMMIT] [--show N] [--save DIR]
                                  [--expect REGEX]

The default baseline is 5c7f43b, the last commit whose parser ran its own loop over Lark's
private table. Against it, the texts that use `on missed steps` (new in the language since)
differ on purpose: `--expect '(?i)^\s*o'` counts them apart (texts starting with "on", and "o",
whose suggestion is now "on" rather than "no"). Exit status 1 when any other text differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The process that runs a baseline gets that commit's `rules/` first on its path.
sys.path.insert(0, os.environ.get("PARSER_CORPUS_RULES", str(ROOT)))
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

BASELINE = "5c7f43b"
SEED = 20261130


# --- the corpus --------------------------------------------------------------------------------


def docs_texts() -> list[str]:
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    fence = re.compile(r"^```(rules|rules-error)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return [text for _, text in fence.findall(docs)]


def fixed_texts() -> list[str]:
    """The docs' examples, the templates, the parser tests' snippets and bench rulesets."""
    from bench.rules import ruleset
    from rules.templates import TEMPLATES
    from tests.rules import test_formatter, test_parser, test_seed_cases

    texts = docs_texts()
    texts += [t.text for t in TEMPLATES]
    texts += [text for text, _ in test_parser.CASES]
    texts += [case[0] for case in test_parser.ERRORS]
    texts += [test_formatter.MESSY, test_formatter.CANONICAL]
    texts += [
        test_seed_cases.CARD,
        test_seed_cases.STEP_FIRST,
        test_seed_cases.INVOICE,
        test_seed_cases.COD,
    ]
    texts += [ruleset(500), ruleset(blocks=20)]
    texts += [ruleset(lines, seed=seed) for lines in (12, 30, 60) for seed in range(6)]
    return texts


def hypothesis_texts(count: int) -> tuple[list[str], list[str], list[str]]:
    """Texts from tests/rules/strategies.py: formatted rulesets, token soups, any text."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis.internal.conjecture import providers

    # Hypothesis mixes literals of the project's imported modules into what it draws: the
    # corpus would change with any edit anywhere. Only its own constants, then.
    providers._get_local_constants = providers.Constants

    from rules.formatter import format_ruleset
    from tests.rules.strategies import rulesets, soups

    trees: list[str] = []
    soup_texts: list[str] = []
    anything: list[str] = []
    options = settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )

    @options
    @given(rulesets)
    def from_trees(tree):
        trees.append(format_ruleset(tree))

    @options
    @given(soups)
    def from_soups(text):
        soup_texts.append(text)

    @options
    @given(st.text(max_size=200))
    def from_any(text):
        anything.append(text)

    from_trees()
    from_soups()
    from_any()
    return trees, soup_texts, anything


_TOKEN = re.compile(r'[ \t]+|\n|[A-Za-z][A-Za-z0-9_.@-]*|[0-9]+(?:\.[0-9]+)?|"[^"\n]*"|#[^\n]*|.')
_REPLACEMENTS = [
    "after",
    "days",
    "day",
    "business",
    "remind",
    "remnd",
    "cancel",
    "notify",
    "accounting",
    "and",
    "level",
    "with",
    "fee",
    "by",
    "email",
    "letter",
    "EUR",
    "chf",
    "amount",
    "over",
    "at",
    "least",
    "country",
    "in",
    "DE",
    "customer",
    "b2b",
    "tag",
    "vorkasse",
    "rechnung",
    "any",
    "on",
    "missed",
    "steps",
    "escalate",
    "order",
    "skip",
    "to",
    "the",
    "latest",
    ":",
    ";",
    ",",
    "%",
    "14",
    "2.50",
    "2026-01-01",
    '"x"',
    "#c",
    "$",
    "é",
    "\n",
    "\n    ",
]


def _typo(word: str, rng: random.Random) -> str:
    at = rng.randrange(len(word))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz0")
    kind = rng.randrange(4)
    if kind == 0 and len(word) > 1:
        return word[:at] + word[at + 1 :]
    if kind == 1:
        return word[:at] + letter + word[at:]
    if kind == 2 and at + 1 < len(word):
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + letter + word[at + 1 :]


def mutate(text: str, rng: random.Random) -> str:
    """One systematic change of `text`, chosen by `rng`."""
    tokens = _TOKEN.findall(text)
    solid = [i for i, t in enumerate(tokens) if not t.isspace()]
    words = [i for i in solid if tokens[i][0].isalpha()]
    lines = text.split("\n")
    kind = rng.randrange(12)
    if kind == 0 and solid:  # delete a token
        del tokens[rng.choice(solid)]
    elif kind == 1 and solid:  # duplicate a token
        at = rng.choice(solid)
        tokens.insert(at, tokens[at] + " ")
    elif kind == 2 and len(solid) > 1:  # swap two neighbouring tokens
        k = rng.randrange(len(solid) - 1)
        a, b = solid[k], solid[k + 1]
        tokens[a], tokens[b] = tokens[b], tokens[a]
    elif kind == 3 and words:  # a typo in a word
        at = rng.choice(words)
        tokens[at] = _typo(tokens[at], rng)
    elif kind == 4 and solid:  # replace a token
        tokens[rng.choice(solid)] = rng.choice(_REPLACEMENTS)
    elif kind == 5 and words:  # change a word's case
        at = rng.choice(words)
        tokens[at] = rng.choice([str.upper, str.title, str.swapcase])(tokens[at])
    elif kind == 6:  # cut the text short
        return text[: rng.randrange(len(text) + 1)]
    elif kind == 7 and len(lines) > 1:  # delete a line
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines)
    elif kind == 8:  # duplicate a line
        at = rng.randrange(len(lines))
        lines.insert(at, lines[at])
        return "\n".join(lines)
    elif kind == 9 and len(lines) > 1:  # join a line with the next
        at = rng.randrange(len(lines) - 1)
        lines[at : at + 2] = [lines[at] + rng.choice(["", " ", "; "]) + lines[at + 1].lstrip()]
        return "\n".join(lines)
    elif kind == 10:  # re-indent a line
        at = rng.randrange(len(lines))
        indent = rng.choice(["", " ", "  ", "    ", "      ", "        ", "\t", "  \t"])
        lines[at] = indent + lines[at].lstrip()
        return "\n".join(lines)
    elif kind == 11 and solid:  # break the line before a token
        at = rng.choice(solid)
        tokens.insert(at, rng.choice(["\n", "\n    ", "\n  "]))
    return "".join(tokens)


def corpus(per_seed: int = 6, generated: int = 900) -> list[str]:
    """The texts, each once. Mutations start from texts that are valid by construction (no
    parser decides which), `per_seed` from each, with a random generator of that text's own:
    a seed text added or removed leaves the other texts' mutations as they were."""
    fixed = fixed_texts()
    trees, soups, anything = hypothesis_texts(generated)
    seeds = [t for t in fixed + trees if t.strip()]
    texts = fixed + trees + soups + anything
    for seed in dict.fromkeys(seeds):
        rng = random.Random(f"{SEED}:{seed}")
        for _ in range(per_seed):
            text = seed
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                text = mutate(text, rng)
            texts.append(text)
    return list(dict.fromkeys(texts))


# --- results -----------------------------------------------------------------------------------


def results(texts: list[str]) -> list[dict]:
    """What the `rules` package on the path says about each text."""
    from rules import format_rules, parse
    from rules.diagnostics import RulesError

    out = []
    for text in texts:
        try:
            tree = parse(text)
        except RulesError as exc:
            out.append({"errors": [_diagnostic(d) for d in exc.diagnostics]})
            continue
        except Exception as exc:  # noqa: BLE001 - a crash is a result to compare, too
            out.append({"crash": f"{type(exc).__name__}: {exc}"})
            continue
        out.append({"tree": repr(tree), "format": format_rules(text)})
    return out


def _diagnostic(d) -> list:
    return [d.severity, d.message, d.line, d.column, d.end_line, d.end_column]


def commit_results(commit: str, texts_file: Path, work: Path, name: str) -> list[dict]:
    """The results of `commit`'s rules/ package, in a process of its own."""
    archive = work / f"{name}.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, "rules"], cwd=ROOT, stdout=out, check=True)
    tree = work / name
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return _results_in_process(texts_file, work / f"{name}.json", str(tree))


def _results_in_process(texts_file: Path, out_file: Path, rules_root: str) -> list[dict]:
    environment = dict(os.environ, PARSER_CORPUS_RULES=rules_root, PYTHONHASHSEED="0")
    command = [sys.executable, __file__, "--results", str(texts_file), str(out_file)]
    subprocess.run(command, env=environment, check=True)
    return json.loads(out_file.read_text(encoding="utf-8"))


def _kind(result: dict) -> str:
    return "valid" if "tree" in result else "errors" if "errors" in result else "crash"


def compare(
    baseline: str, now: str | None, show: int, save: Path | None, expect: str | None = None
) -> int:
    texts = corpus()
    with tempfile.TemporaryDirectory() as directory:
        work = save or Path(directory)
        work.mkdir(parents=True, exist_ok=True)
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        old = commit_results(baseline, texts_file, work, "baseline")
        if now:
            new = commit_results(now, texts_file, work, "now")
        else:
            new = _results_in_process(texts_file, work / "now.json", str(ROOT))
    kinds = Counter(_kind(r) for r in old)
    differences = [(t, a, b) for t, a, b in zip(texts, old, new, strict=True) if a != b]
    expected = re.compile(expect) if expect else None
    foreseen = [d for d in differences if expected and expected.search(d[0])]
    others = [d for d in differences if d not in foreseen]
    print(
        f"{len(texts)} texts ({kinds['valid']} valid, {kinds['errors']} with errors, "
        f"{kinds['crash']} crashes at {baseline}): {len(texts) - len(differences)} identical, "
        f"{len(differences)} different"
        + (f", {len(foreseen)} of them matching {expect!r}" if expected else "")
    )
    for name, group in (("expected", foreseen), ("other", others)):
        changes = Counter(f"{_kind(a)} -> {_kind(b)}" for _, a, b in group)
        for change, count in changes.most_common():
            print(f"  {name}: {change}: {count}")
    for text, a, b in (others + foreseen)[:show]:
        print(f"\n--- {text!r}\n  {baseline}: {_short(a)}\n  {now or 'now'}: {_short(b)}")
    return 1 if others else 0


def _short(result: dict) -> str:
    if "errors" in result:
        return "; ".join(f"{d[2]}:{d[3]}-{d[4]}:{d[5]} {d[1]}" for d in result["errors"])
    return json.dumps(result)[:400]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with")
    parser.add_argument("--now", help="compare this commit's rules/, not the working tree's")
    parser.add_argument("--show", type=int, default=40, help="how many differences to print")
    parser.add_argument("--save", type=Path, help="keep the texts and both results here")
    parser.add_argument(
        "--expect",
        metavar="REGEX",
        help="count differences in texts matching REGEX apart (new syntax), shown last",
    )
    parser.add_argument("--results", nargs=2, metavar=("TEXTS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.results:
        texts = json.loads(Path(args.results[0]).read_text(encoding="utf-8"))
        Path(args.results[1]).write_text(json.dumps(results(texts)), encoding="utf-8")
        return
    sys.exit(compare(args.baseline, args.now, args.show, args.save, args.expect))


if __name__ == "__main__":
    main()
