#!/usr/bin/env python3
"""Break the code one line at a time and see whether the tests notice: a small, repeatable mutation sweep.

A developer tool, NOT run in CI (it takes minutes and rewrites source files while it runs).

    .venv/bin/python scripts/mutation_sweep.py ticker/policy.py ticker/render/strip.py --seed 23
    .venv/bin/python scripts/mutation_sweep.py ticker/state.py --tests tests/test_policy.py --cap 40
    .venv/bin/python scripts/mutation_sweep.py --recheck /tmp/sweep.json   # only the last run's survivors

For each file it lists every one-line mutant its rules make (comparison flips, min<->max, and<->or,
True<->False, + <-> -, integer constants +-1, a `not` removed, a function returning None or an empty
value, an `if` whose condition is dropped, two simple arguments swapped), takes a seeded random sample
of at most --cap of them (the seed is printed; the same seed on the same source gives the same sample),
writes each into the file in place, runs that file's FAST tests (pure and injected-clock ones: the
table below, or --tests) with `pytest -x -q -p no:cacheprovider` under a per-mutant timeout, and
records killed (a test failed, or the run timed out) or survived; a survivor is tried once more against a wider,
slower set (SECOND_TIER: simulated days, whole pipelines) and counts as killed-2nd if that notices. Each run is
pytest in a process forked from the runner, which has the libraries loaded already (ticker and providers are
imported afresh in each child, mutated), so a mutant costs about a second on an idle machine (the children's
output goes to $MUTATION_SWEEP_LOG where that is set, else nowhere). The file is
written back after every
mutant and on any exit (Ctrl-C, SIGTERM, an error). The summary names each survivor as
file:line  original -> mutant; --json keeps the results for --recheck, which tries the survivors again
against the fast tests only (they survived the second tier already; add new tests to FAST_TESTS) and prints
the kill rate before and after.

A survivor is either a gap (write a test asserting what the README/OpenAPI promise, then --recheck) or an
equivalent mutant (no observable difference; say why, or simplify the code it points at).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import json
import os
import random
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent

# The fast tests that hold each file's behaviour (pure or injected-clock; each run takes a second or two).
FAST_TESTS: dict[str, list[str]] = {
    "ticker/policy.py": ["tests/test_policy.py", "tests/test_policy_boundaries.py"],
    "ticker/state.py": [
        "tests/test_policy.py",
        "tests/test_policy_boundaries.py",
        "tests/test_store.py",
        "tests/test_source_status_merge.py",
    ],
    "ticker/render/strip.py": [
        "tests/test_policy.py",
        "tests/test_policy_boundaries.py",
        "tests/test_strip_revalidation.py",
        "tests/test_api.py",
    ],
    "ticker/render/textline.py": ["tests/test_text_rendering.py", "tests/test_formats.py"],
    "ticker/render/fragment.py": [
        "tests/test_text_rendering.py",
        "tests/test_formats.py",
        "tests/test_fragment_a11y.py",
    ],
    "providers/nbk.py": ["tests/test_nbk.py", "tests/test_nbk_answers.py"],
    "providers/cbr.py": ["tests/test_cbr.py", "tests/test_nbk.py", "tests/test_nbk_answers.py"],
    "ticker/web/respond.py": [
        "tests/test_http.py",
        "tests/test_conditional_requests.py",
        "tests/test_blank.py",
        "tests/test_blank_embedding.py",
        "tests/test_formats.py",
    ],
    "ticker/web/history_view.py": [
        "tests/test_history.py",
        "tests/test_history_requests.py",
        "tests/test_conditional_requests.py",
    ],
    "providers/open_meteo_air.py": ["tests/test_open_meteo_air.py", "tests/test_air_readings.py", "tests/test_air.py"],
    "ticker/render/aqi.py": ["tests/test_aqi.py", "tests/test_air.py"],
    "ticker/render/air.py": ["tests/test_air_items.py", "tests/test_air.py", "tests/test_aqi.py"],
    "ticker/store/history.py": [
        "tests/test_backfill.py",
        "tests/test_backfill_schedule.py",
        "tests/test_history.py",
        "tests/test_history_requests.py",
    ],
}
# A fast survivor is tried once more against these (slower: simulated days, whole pipelines) before it counts.
SECOND_TIER = [
    "tests/test_policy.py",
    "tests/test_air.py",
    "tests/test_freshness.py",
    "tests/test_time.py",
    "tests/test_formats.py",
    "tests/test_api.py",
    "tests/test_conditions.py",
    "tests/test_pipeline.py",
    "tests/test_store.py",
]
# Imported once by the runner, so that each forked test run starts with them loaded (never ticker or providers:
# those must be imported afresh, mutated; never a pytest plugin: pytest must import those itself).
PRELOAD = ("aiohttp", "pydantic", "pydantic_settings", "redis", "defusedxml", "prometheus_client", "multidict")

COMPARE_SWAPS: dict[type[ast.cmpop], list[tuple[str, str]]] = {
    ast.Lt: [("<", "<="), ("<", ">=")],
    ast.LtE: [("<=", "<"), ("<=", ">")],
    ast.Gt: [(">", ">="), (">", "<=")],
    ast.GtE: [(">=", ">"), (">=", "<")],
    ast.Eq: [("==", "!=")],
    ast.NotEq: [("!=", "==")],
    ast.Is: [("is", "is not")],
    ast.IsNot: [("is not", "is")],
    ast.In: [("in", "not in")],
    ast.NotIn: [("not in", "in")],
}
BINOP_SWAPS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "/"),
    ast.FloorDiv: ("//", "*"),
}
EMPTY_BY_ANNOTATION = {"list": "[]", "tuple": "()", "dict": "{}", "str": '""', "bytes": 'b""', "set": "set()"}


@dataclass
class Mutant:
    path: str
    line: int  # 1-based, the first line the edit touches
    rule: str
    before: str  # the source lines the edit touches, as they were
    after: str  # the same lines mutated
    outcome: str = ""  # killed | survived | timeout

    def label(self) -> str:
        return f"{self.path}:{self.line} [{self.rule}] {squash(self.before)}  ->  {squash(self.after)}"


def squash(text: str) -> str:
    return " ".join(text.split())


class Source:
    """A file's text with (line, col) -> offset arithmetic for ast positions (col is in UTF-8 bytes)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, col_bytes: int) -> int:
        raw = self.lines[line - 1].encode()[:col_bytes]
        return self.starts[line - 1] + len(raw.decode())

    def span(self, node: ast.AST) -> tuple[int, int]:
        end_line = node.end_lineno if node.end_lineno is not None else node.lineno  # type: ignore[attr-defined]
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset  # type: ignore[attr-defined]
        return self.offset(node.lineno, node.col_offset), self.offset(end_line, end_col)  # type: ignore[attr-defined]

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self.lines)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.starts[mid + 1] <= offset:
                lo = mid + 1
            else:
                hi = mid
        return lo + 1

    def edit(self, start: int, end: int, replacement: str, rule: str, path: str) -> Mutant | None:
        """The mutant replacing text[start:end]; None when it does not compile or changes nothing."""
        first, last = self.line_of(start), self.line_of(max(start, end - 1))
        block_start, block_end = self.starts[first - 1], self.starts[last]
        before = self.text[block_start:block_end]
        after = self.text[block_start:start] + replacement + self.text[end:block_end]
        mutated = self.text[:block_start] + after + self.text[block_end:]
        try:
            if ast.dump(ast.parse(mutated)) == ast.dump(ast.parse(self.text)):
                return None
        except SyntaxError:
            return None
        return Mutant(path, first, rule, before, after)


def token_between(src: Source, left: ast.AST, right: ast.AST, token: str) -> tuple[int, int] | None:
    """Where `token` (an operator written between two operands) stands in the source."""
    lo, hi = src.span(left)[1], src.span(right)[0]
    gap = src.text[lo:hi]
    index = gap.find(token)
    # skip a close paren or comment before the operator; `not in`/`is not` are found whole
    if index < 0:
        return None
    return lo + index, lo + index + len(token)


def mutants_of(path: str, text: str) -> Iterator[Mutant]:
    src = Source(text)
    tree = ast.parse(text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }

    def edit(start: int, end: int, replacement: str, rule: str) -> Iterator[Mutant]:
        mutant = src.edit(start, end, replacement, rule, path)
        if mutant is not None:
            yield mutant

    # decorators (frozen=True, lru_cache sizes) and pydantic's model_config (frozen=True: the same as a frozen
    # dataclass) only forbid what no code does: not mutated
    decorated = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for decorator in node.decorator_list
        for inner in ast.walk(decorator)
    } | {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "model_config" for target in node.targets)
        for inner in ast.walk(node.value)
    }
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for node in ast.walk(tree):
        if id(node) in decorated:
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.append(node)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                for old, new in COMPARE_SWAPS.get(type(op), []):
                    where = token_between(src, left, right, old)
                    if where is not None:
                        yield from edit(*where, new, "compare")
        elif isinstance(node, ast.BoolOp):
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            for left, right in zip(node.values, node.values[1:], strict=False):
                where = token_between(src, left, right, old)
                if where is not None:
                    yield from edit(*where, new, "and/or")
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            old, new = BINOP_SWAPS[type(node.op)]
            where = token_between(src, node.left, node.right, old)
            if where is not None:
                yield from edit(*where, new, "arith")
        elif isinstance(node, ast.AugAssign) and type(node.op) in BINOP_SWAPS:
            old, new = BINOP_SWAPS[type(node.op)]
            where = token_between(src, node.target, node.value, old + "=")
            if where is not None:
                yield from edit(*where, new + "=", "arith")
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            start, end = src.span(node)
            if isinstance(node.value, bool):
                yield from edit(start, end, str(not node.value), "bool")
            elif isinstance(node.value, int):
                yield from edit(start, end, str(node.value + 1), "int+1")
                yield from edit(start, end, str(node.value - 1) if node.value > 0 else "1", "int-1")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            start, _ = src.span(node)
            operand_start, _ = src.span(node.operand)
            yield from edit(start, operand_start, "", "not")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            start, end = src.span(node.func)
            yield from edit(start, end, "max" if node.func.id == "min" else "min", "min/max")
        elif isinstance(node, ast.If):
            start, end = src.span(node.test)
            yield from edit(start, end, "True", "if-dropped")
        cheap_to_swap = not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
        )
        if isinstance(node, ast.Call) and cheap_to_swap and len(node.args) == 2 and not node.keywords:
            a, b = node.args
            simple = ast.Name | ast.Attribute | ast.Constant
            if isinstance(a, simple) and isinstance(b, simple) and a.lineno == b.lineno:
                (a0, a1), (b0, b1) = src.span(a), src.span(b)
                swapped = src.text[b0:b1] + src.text[a1:b0] + src.text[a0:a1]
                yield from edit(a0, b1, swapped, "swap-args")
    for function in functions:
        empty = "None"
        if isinstance(function.returns, ast.Subscript | ast.Name):
            base = function.returns.value if isinstance(function.returns, ast.Subscript) else function.returns
            if isinstance(base, ast.Name):
                empty = EMPTY_BY_ANNOTATION.get(base.id, "None")
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                if isinstance(node.value, ast.Constant) and node.value.value is None:
                    continue
                if node.lineno != node.value.end_lineno:
                    continue  # one-line mutants only
                start, end = src.span(node.value)
                yield from edit(start, end, empty, "return-empty")


# --- running ---------------------------------------------------------------------------------------------


class Restorer:
    """Writes every touched file back: after each mutant and on any way out."""

    def __init__(self) -> None:
        self.originals: dict[Path, bytes] = {}

    def write(self, path: Path, text: str) -> None:
        self.originals.setdefault(path, path.read_bytes())
        path.write_text(text, encoding="utf-8")

    def restore(self) -> None:
        for path, data in self.originals.items():
            path.write_bytes(data)
        self.originals.clear()


def run_tests(tests: list[str], timeout: float) -> str:
    """pytest in a forked child (the libraries are loaded already; ticker is imported afresh, from disk)."""
    args = ["-x", "-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning", *tests]
    pid = os.fork()
    if pid == 0:  # the child: its own process group, so that a timeout ends what it started (redis, upstreams)
        code = 3
        try:
            os.setsid()
            os.chdir(ROOT)
            null = os.open(os.environ.get("MUTATION_SWEEP_LOG", os.devnull), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(null, 1)
            os.dup2(null, 2)
            import pytest

            code = int(pytest.main(args))
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"
            if time.monotonic() > deadline:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "timeout"
            time.sleep(0.02)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise


def tests_for(path: str, override: list[str] | None) -> list[str]:
    if override:
        return override
    if path in FAST_TESTS:  # those that exist in this checkout (an older one may lack the newer files)
        return [test for test in FAST_TESTS[path] if (ROOT / test).exists()]
    module = path.removesuffix(".py").replace("/", ".")
    found = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py") if module in p.read_text("utf-8")
    )
    if not found:
        sys.exit(f"{path}: no tests import {module}; name them with --tests")
    return found


def apply(mutant: Mutant, text: str) -> str | None:
    """The file's text with the mutant in it: its lines found again (nearest its recorded line), or None."""
    lines = text.splitlines(keepends=True)
    width = mutant.before.count("\n") or 1
    hits = [i for i in range(len(lines)) if "".join(lines[i : i + width]) == mutant.before]
    if not hits:
        return None
    i = min(hits, key=lambda h: abs(h + 1 - mutant.line))
    return "".join(lines[:i]) + mutant.after + "".join(lines[i + width :])


class Unmutated(Exception):
    """A test set fails on the unmutated code: nothing it says about a mutant would mean anything."""


class Trials:
    """Test runs, each set's timeout from its baseline on the unmutated code (which must pass)."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.baselines: dict[str, float] = {}
        self.broken: set[str] = set()  # second-tier sets that fail unmutated

    def baseline(self, tests: list[str]) -> None:
        """Run on the unmutated code, once per set: it must pass, and it sets the timeout."""
        key = " ".join(tests)
        if key not in self.baselines:
            started = time.monotonic()
            if run_tests(tests, 900) != "survived":
                raise Unmutated(f"the unmutated code fails {key}: fix that first (or a test is flaky under load)")
            self.baselines[key] = time.monotonic() - started
            print(f"baseline {key}: {self.baselines[key]:.1f} s", flush=True)

    def run(self, tests: list[str]) -> str:
        return run_tests(tests, self.timeout or max(20.0, 4 * self.baselines[" ".join(tests)]))


KILLED = ("killed", "timeout", "killed-2nd")


def sweep(
    mutants: list[Mutant], override: list[str] | None, timeout: float | None, restorer: Restorer, second: bool
) -> None:
    trials = Trials(timeout)
    for n, mutant in enumerate(mutants, 1):
        path = ROOT / mutant.path
        tests = tests_for(mutant.path, override)
        wider = [] if override or not second else [t for t in SECOND_TIER if t not in tests and (ROOT / t).exists()]
        trials.baseline(tests)
        if wider and " ".join(wider) not in trials.broken:
            try:
                trials.baseline(wider)
            except Unmutated as exc:  # the second tier is only a second opinion: go on without it
                print(f"{exc}; survivors of {mutant.path} are not tried against it", flush=True)
                trials.broken.add(" ".join(wider))
        if " ".join(wider) in trials.broken:
            wider = []
        mutated = apply(mutant, path.read_text("utf-8"))
        if mutated is None:
            mutant.outcome = "gone"  # the code it mutated was changed since
        else:
            try:
                restorer.write(path, mutated)
                mutant.outcome = trials.run(tests)
                if mutant.outcome == "survived" and wider and trials.run(wider) != "survived":
                    mutant.outcome = "killed-2nd"
            finally:
                restorer.restore()
        print(f"[{n}/{len(mutants)}] {mutant.outcome:10} {mutant.label()}", flush=True)


def summary(mutants: list[Mutant]) -> None:
    by_file: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_file.setdefault(m.path, []).append(m)
    print(f"\n{'file':32} {'mutants':>7} {'killed':>6} {'(by 2nd tier)':>13} {'survived':>8} {'rate':>6}")
    total = killed_total = 0
    for path, ms in by_file.items():
        tried = [m for m in ms if m.outcome not in ("", "gone")]
        killed = sum(m.outcome in KILLED for m in tried)
        second = sum(m.outcome == "killed-2nd" for m in tried)
        total += len(tried)
        killed_total += killed
        rate = 100 * killed / len(tried) if tried else 100.0
        print(f"{path:32} {len(tried):7} {killed:6} {second:13} {len(tried) - killed:8} {rate:5.1f}%")
    if total:
        print(
            f"{'all':32} {total:7} {killed_total:6} {'':13} {total - killed_total:8} {100 * killed_total / total:5.1f}%"
        )
    survivors = [m for m in mutants if m.outcome == "survived"]
    if survivors:
        print("\nsurvivors:")
        for m in survivors:
            print("  " + m.label())


def json_mutants(path: Path) -> list[Mutant]:
    return [Mutant(**m) for m in json.loads(path.read_text("utf-8"))["mutants"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", help="source files, relative to the repository root")
    parser.add_argument("--seed", type=int, help="the sample's seed (printed; default: from the clock)")
    parser.add_argument("--cap", type=int, default=30, help="mutants per file at most (default 30)")
    parser.add_argument("--tests", nargs="+", help="test files for every given file (default: the table)")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: 4x the baseline, >= 30)")
    parser.add_argument("--json", type=Path, help="write the results here (for --recheck)")
    parser.add_argument("--recheck", type=Path, help="re-run the survivors of an earlier --json")
    parser.add_argument("--list", action="store_true", help="only print the sample")
    args = parser.parse_args()

    if args.recheck:
        recorded = json_mutants(args.recheck)
        mutants = [m for m in recorded if m.outcome == "survived"]
        print(f"rechecking {len(mutants)} survivors of {args.recheck}")
    else:
        seed = args.seed if args.seed is not None else int(time.time()) % 100_000
        print(
            f"seed {seed}  (reproduce: scripts/mutation_sweep.py --seed {seed} --cap {args.cap} {' '.join(args.files)})"
        )
        mutants = []
        for file in args.files:
            path = file.removeprefix("./")
            # one of each: two rules can make the same text (1 -> 0 and "not" dropped, 0 -> 1 by +1 and -1)
            every = list({(m.line, m.after): m for m in mutants_of(path, (ROOT / path).read_text("utf-8"))}.values())
            sample = random.Random(f"{seed}:{path}").sample(every, min(args.cap, len(every)))
            sample.sort(key=lambda m: m.line)
            print(f"{path}: {len(every)} mutants, {len(sample)} sampled")
            mutants.extend(sample)
        recorded = mutants
    if args.list:
        for m in mutants:
            print("  " + m.label())
        return

    for name in PRELOAD:
        importlib.import_module(name)
    restorer = Restorer()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        # a recheck's mutants survived the second tier already: only the (new) fast tests can kill them now
        sweep(mutants, args.tests, args.timeout, restorer, second=not args.recheck)
    except KeyboardInterrupt:
        print("\ninterrupted: the files are restored; the summary covers what ran")
    except Unmutated as exc:
        print(f"\nstopped: {exc}; the summary covers what ran")
    finally:
        restorer.restore()
    done = [m for m in mutants if m.outcome]
    if args.recheck:
        print("\nbefore:")
        summary(json_mutants(args.recheck))
        print("\nafter:")
        newly = sum(m.outcome in KILLED for m in done)
        print(f"\n{newly} of {len(done)} survivors are killed now")
        summary(recorded)
    else:
        summary(done)
    if args.json:
        args.json.write_text(json.dumps({"mutants": [asdict(m) for m in recorded]}, indent=1), "utf-8")


if __name__ == "__main__":
    main()
