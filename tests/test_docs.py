"""The paper facts the code cites live in the repository: every "docs/PAPER.md §N" in the library, notebooks,
params and tests names a section docs/PAPER.md has, and nothing cites a file outside the repository."""

import re

from dsmath_lib import paths

ROOT = paths.ROOT
SOURCES = [p for folder in ("dsmath_lib", "notebooks", "params", "tests", "bench")
           for p in sorted((ROOT / folder).rglob("*")) if p.suffix in (".py", ".ipynb", ".yaml") and p.is_file()]


def cited_sections() -> dict[str, set[int]]:
    """file -> the section numbers it cites as docs/PAPER.md §N or §N-M."""
    cites = {}
    for path in SOURCES:
        for a, b in re.findall(r"docs/PAPER\.md §(\d+)(?:-(\d+))?", path.read_text()):
            cites.setdefault(str(path.relative_to(ROOT)), set()).update(range(int(a), int(b or a) + 1))
    return cites


def test_every_cited_section_exists():
    headings = {int(n) for n in re.findall(r"^## (\d+)\.", (ROOT / "docs" / "PAPER.md").read_text(), re.M)}
    cites = cited_sections()
    assert cites, "no docs/PAPER.md citation found: the scan is broken"
    missing = {f: sorted(s - headings) for f, s in cites.items() if s - headings}
    assert not missing, missing


def test_nothing_cites_files_outside_the_repository():
    this = ROOT / "tests" / "test_docs.py"
    pattern = re.compile(r"\.\./shared/(PAPER|DESIGN|STYLE)\.md|(?<![\w/])(PAPER|DESIGN|STYLE)\.md")
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in SOURCES if p != this for m in pattern.finditer(p.read_text())]
    assert not hits, hits
