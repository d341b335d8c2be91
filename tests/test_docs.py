"""The documentation stays true to the repository.

Every relative link of README.md, docs/**/*.md and bench/README.md leads to a file of the repository (and a
heading, for ``#anchor`` links); every path or dotted name of ours written in backticks exists; every
``make <target>`` named is a target of the Makefile; docs/configuration.md documents exactly what is
configurable: each variable it names is read by the code, and each variable the settings and the launcher
read is named there. The README stays a short map (at most 16,000 bytes).

Reads files only: no database, no server.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_BYTES = 16_000
# Written by a run, not kept in git, yet worth naming in the docs.
GENERATED_PATHS = {"bench/results/latest.json", "bench/results/soak.json"}
# Where the environment is read for configuration: the settings and the launcher of `make run` / `make test`.
CONFIGURATION_READERS = ("notifications_project/settings/*.py", "notifications_project/launcher/*.py")

FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
MAKE = re.compile(r"\bmake[ \t]+([a-z][\w-]*)")
DOTTED = re.compile(r"^([a-z_][a-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?::([A-Za-z_]\w*))?$")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*[A-Z0-9]$")
NOT_A_PATH = set("{}<>*|…$")


def doc_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md")), root / "bench" / "README.md"]


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def without_fences(text: str) -> str:
    """The text with fenced code blocks blanked (same line count): no links or headings are in code."""
    return FENCE.sub(lambda match: "\n" * match.group(0).count("\n"), text)


def code_texts(text: str) -> Iterator[str]:
    """What the text writes as code: every fenced block and every code span outside them."""
    for match in FENCE.finditer(text):
        yield match.group(0)
    for match in CODE_SPAN.finditer(without_fences(text)):
        yield match.group(2)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = CODE_SPAN.sub(lambda match: match.group(2), heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING.finditer(without_fences(path.read_text(encoding="utf-8"))):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Relative links of one Markdown file that lead nowhere inside ``root``, with the reason."""
    text = CODE_SPAN.sub("", without_fences(path.read_text(encoding="utf-8")))
    problems = []
    for target in LINK.findall(text):
        if SCHEME.match(target):
            continue  # an absolute URL: not ours to check
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path.resolve()
        if not linked.is_relative_to(root.resolve()):
            problems.append(f"{target}: outside the repository")
        elif not linked.exists():
            problems.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            problems.append(f"{target}: no heading #{anchor} in {linked.name}")
    return problems


@cache
def our_packages() -> frozenset[str]:
    return frozenset(entry.name for entry in ROOT.iterdir() if (entry / "__init__.py").is_file())


@cache
def code_of_the_service() -> str:
    """The Python source of everything but the tests (and the virtualenv, the run data)."""
    packages = sorted(our_packages() - {"tests"})
    files = [
        ROOT / "manage.py",
        *(file for package in packages for file in sorted((ROOT / package).rglob("*.py"))),
    ]
    return "\n".join(file.read_text(encoding="utf-8") for file in files)


def _words(code: str) -> Iterator[str]:
    for word in code.split():
        word = word.lstrip("\"'([").rstrip("\"')],;:.")
        if word and not NOT_A_PATH & set(word):
            yield word


def _defines(source: str, name: str) -> bool:
    name = re.escape(name)
    return bool(
        re.search(
            rf"^\s*(?:async\s+def|def|class)\s+{name}\b|^{name}\s*(?::[^=\n]*)?=|^(?:from|import)\b.*\b{name}\b",
            source,
            re.MULTILINE,
        )
    )


def dotted_name_exists(name: str) -> bool:
    """``pkg.module[.attr]`` or ``pkg.module:attr`` names a module (and what it defines); a name like
    ``dispatch.order_process`` that is no module is a Celery task name, a permission or a check id,
    written as a string in the code."""
    module, _, colon_attr = name.partition(":")
    parts = module.split(".")
    for length in range(len(parts), 1, -1):
        base = ROOT.joinpath(*parts[:length])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            rest = parts[length:] + ([colon_attr] if colon_attr else [])
            return not rest or _defines(source.read_text(encoding="utf-8"), rest[0])
    return f'"{module}"' in code_of_the_service() and not colon_attr


def missing_names(path: Path) -> list[str]:
    """Paths (``orders/services.py``, ``dispatch/tasks/``) and dotted names (``tests.faults.worker``) of
    ours that a Markdown file writes as code and that do not exist."""
    missing = []
    for code in code_texts(path.read_text(encoding="utf-8")):
        for word in _words(code):
            head = re.split(r"[/.:]", word, maxsplit=1)[0]
            if "/" in word and head in our_packages() | {"docs"}:
                if word not in GENERATED_PATHS and not (ROOT / word).exists():
                    missing.append(word)
            elif head in our_packages() and DOTTED.match(word) and not dotted_name_exists(word):
                missing.append(word)
    return missing


@cache
def make_targets() -> frozenset[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return frozenset(re.findall(r"^([A-Za-z][\w.-]*)[ \t]*:(?!=)", makefile, re.MULTILINE))


def documented_variables() -> set[str]:
    """The variables named in the first column of docs/configuration.md's table."""
    names = set()
    for line in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            names |= {span for _, span in CODE_SPAN.findall(cells[1]) if ENV_NAME.match(span)}
    return names


def _is_environment(node: ast.expr) -> bool:
    """``env`` (the launcher's copy of the environment) or ``os.environ``."""
    if isinstance(node, ast.Name):
        return node.id == "env"
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def variables_read(path: Path) -> set[str]:
    """Environment variables a module reads by name: ``env_*("NAME")`` helpers (``env_secret`` reads
    ``NAME_FILE`` too), ``os.environ.get("NAME")`` / ``env.get("NAME")`` and ``env["NAME"]``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        key: ast.expr | None = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Name) and func.id.startswith("env_"):
                key = node.args[0]
                if func.id == "env_secret" and isinstance(key, ast.Constant) and isinstance(key.value, str):
                    names.add(f"{key.value}_FILE")
            elif isinstance(func, ast.Attribute) and func.attr == "get" and _is_environment(func.value):
                key = node.args[0]
        elif (
            isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environment(node.value)
        ):
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and ENV_NAME.match(key.value):
            names.add(key.value)
    return names


def is_read_by_the_code(name: str) -> bool:
    code = code_of_the_service()
    if re.search(rf"[\"']{name}[\"']", code):
        return True
    # NAME_FILE: read by env_secret("NAME"), the settings' reader of secrets that may come from a file.
    return name.endswith("_FILE") and bool(re.search(rf"env_secret\(\s*[\"']{name[:-5]}[\"']", code))


DOCS = [pytest.param(path, id=_relative(path)) for path in doc_files()]


def test_the_readme_is_a_short_map() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"


def test_every_doc_is_linked_from_the_readme_or_another_doc() -> None:
    linked = set()
    for path in doc_files():
        text = CODE_SPAN.sub("", without_fences(path.read_text(encoding="utf-8")))
        for target in LINK.findall(text):
            if not SCHEME.match(target) and target.partition("#")[0]:
                linked.add((path.parent / target.partition("#")[0]).resolve())
    orphans = [_relative(path) for path in doc_files()[1:] if path.resolve() not in linked]
    assert orphans == []


@pytest.mark.parametrize("path", DOCS)
def test_links_lead_to_files_and_headings(path: Path) -> None:
    assert broken_links(path) == []


@pytest.mark.parametrize("path", DOCS)
def test_paths_and_module_names_exist(path: Path) -> None:
    assert missing_names(path) == []


@pytest.mark.parametrize("path", DOCS)
def test_make_targets_exist(path: Path) -> None:
    named = {target for code in code_texts(path.read_text(encoding="utf-8")) for target in MAKE.findall(code)}
    assert named - make_targets() == set()


def test_documented_variables_are_read_by_the_code() -> None:
    documented = documented_variables()
    assert len(documented) > 50  # the table was found and read
    assert sorted(name for name in documented if not is_read_by_the_code(name)) == []


def test_variables_the_settings_read_are_documented() -> None:
    modules = [module for pattern in CONFIGURATION_READERS for module in sorted(ROOT.glob(pattern))]
    read = set().union(*(variables_read(module) for module in modules))
    assert {"DATABASE_URL", "SECRET_KEY_FILE", "WEB_CONCURRENCY"} <= read  # the readers were understood
    assert sorted(read - documented_variables()) == []


def test_the_checks_find_what_is_broken(tmp_path: Path) -> None:
    """The link and name checks report a missing file, a missing heading and a path that does not exist
    (and accept what does exist), so a green run means the docs are right, not that nothing was checked."""
    (tmp_path / "target.md").write_text("# Title\n\n## A section (`code`)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](target.md#a-section-code) [ok](#page) [ok](target.md) [web](https://example.org/x)\n"
        "[gone](missing.md) [no heading](target.md#nothing) [out](../../elsewhere.md)\n"
        "`orders/services.py` `orders/no_such_module.py`\n"
        "`dispatch.tasks.processing` `dispatch.no_such_task`\n"
        "```sh\nmake run  # [not a link in code](nowhere.md)\n```\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "missing.md: no such file",
        "target.md#nothing: no heading #nothing in target.md",
        "../../elsewhere.md: outside the repository",
    ]
    assert missing_names(page) == ["orders/no_such_module.py", "dispatch.no_such_task"]
