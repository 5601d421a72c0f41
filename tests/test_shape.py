"""The house's shape, checked so that it stays this way: small modules, one meaning per name, loggers named by
module, and comments that cite only what is in the repository. Pure reads of the source tree (milliseconds)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 300  # any module in ticker/
MAX_PROVIDER_LINES = 150  # any module in providers/
# modules allowed past a limit while a change splits them; each entry must still be needed, so that it is removed
# as soon as it is not (refresh.py was one until its split by job)
PENDING: set[str] = set()
# the same idea on both sides of the line providers never cross (they cannot import ticker's): not a collision
SAME_IDEA = {"Clock"}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def public_names(path: Path) -> set[str]:
    """Module-level classes, functions and type aliases (CapWords assignments) not starting with ``_``."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name) and t.id[:1].isupper() and not t.id.isupper())
    return {name for name in names if not name.startswith("_")}


def test_no_module_in_ticker_is_over_300_lines() -> None:
    sizes = {rel(path): lines(path) for path in modules("ticker")}
    over = {name: size for name, size in sizes.items() if size > MAX_MODULE_LINES and name not in PENDING}
    assert not over, f"split by job: {over}"
    done = sorted(name for name in PENDING if sizes.get(name, 0) <= MAX_MODULE_LINES)
    assert not done, f"no longer over {MAX_MODULE_LINES} lines: remove from PENDING: {done}"


def test_no_provider_module_is_over_150_lines() -> None:
    over = {rel(path): lines(path) for path in modules("providers") if lines(path) > MAX_PROVIDER_LINES}
    assert not over, f"split by job (a long parser goes in its own module, as met_no_forecast.py): {over}"


def test_no_two_public_names_in_ticker_are_the_same() -> None:
    where: defaultdict[str, list[str]] = defaultdict(list)
    for path in modules("ticker"):
        for name in public_names(path):
            where[name].append(rel(path))
    twice = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not twice, f"one name, one meaning: rename one of {twice}"


def test_ticker_reuses_no_name_of_providers_for_something_else() -> None:
    ticker = {name for path in modules("ticker") for name in public_names(path)}
    providers = {name for path in modules("providers") for name in public_names(path)}
    assert ticker & providers <= SAME_IDEA, f"rename: {sorted(ticker & providers - SAME_IDEA)}"


def test_the_name_check_sees_a_collision() -> None:
    """The check above reads what it must: settings' sections once shared names with models and fetch."""
    settings = public_names(ROOT / "ticker" / "settings.py")
    assert {"City", "HistorySettings", "CrossCheckSettings"} <= settings
    assert "History" in public_names(ROOT / "ticker" / "models.py")
    assert "CrossCheck" in public_names(ROOT / "ticker" / "fetch" / "crosscheck.py")


def test_loggers_are_named_by_their_module() -> None:
    """``logging.getLogger(__name__)`` in ours; a literal name only for another library's logger (run/logs.py)."""
    wrong = []
    for path in [*modules("ticker"), *modules("providers")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "logging.getLogger" and node.args):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Name) and arg.id == "__name__":
                continue
            literal = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
            if literal is None or literal.split(".")[0] in ("ticker", "providers"):
                wrong.append(f"{rel(path)}:{node.lineno}: getLogger({ast.unparse(arg)})")
    pending = [line for line in wrong if line.split(":")[0] in PENDING]
    assert wrong == pending, f"use logging.getLogger(__name__): {sorted(set(wrong) - set(pending))}"


def test_comments_cite_only_files_in_the_repository() -> None:
    """A ``*.md`` named in the code, the tests, the scripts or the docs exists in the repository."""
    present = {path.name for path in ROOT.rglob("*.md") if ".venv" not in path.parts and ".git" not in path.parts}
    cited = re.compile(r"\b([\w./-]+\.md)\b")
    missing = []
    for folder in ("ticker", "providers", "tests", "scripts", "bench", "docs"):
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix not in ("", ".py", ".md", ".sh", ".js", ".toml", ".yaml", ".html"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                missing += [f"{rel(path)}:{number}: {m}" for m in cited.findall(line) if Path(m).name not in present]
    assert not missing, f"cite the README section, a docs/ file or the module instead: {missing}"


def test_one_fake_upstream() -> None:
    """Tests reach the upstreams only through tests/fakes.py: no other test module serves an upstream's route."""
    from tests.fakes import ROUTES

    served = re.compile(r"add_(?:get|route)\([^)]*?[\"'](" + "|".join(re.escape(route) for route in ROUTES) + r")[\"']")
    others = [
        f"{rel(path)}: {match}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.name != "fakes.py"
        for match in served.findall(path.read_text(encoding="utf-8"))
    ]
    assert not others, f"serve it from tests/fakes.py's Upstream instead: {others}"


def test_paths_named_in_comments_and_docs_exist() -> None:
    """A module or file named by its path (``ticker/policy.py``, ``docs/deploy.md``) is in the repository."""
    named = re.compile(
        r"(?<![\w/])((?:ticker|providers|tests|scripts|bench|docs)/[\w./-]+\.(?:py|md|js|json|toml|yaml))\b"
    )
    missing = []
    for path in [
        ROOT / "README.md",
        *(
            p
            for d in ("ticker", "providers", "tests", "scripts", "bench", "docs")
            for p in sorted((ROOT / d).rglob("*"))
            if p.is_file()
        ),
    ]:
        if path.suffix not in ("", ".py", ".md", ".sh", ".js", ".toml", ".yaml", ".html"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        missing += [f"{rel(path)}: {name}" for name in named.findall(text) if not (ROOT / name).exists()]
    assert not missing, f"name the module that says it now: {missing}"
