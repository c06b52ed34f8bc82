"""Domain discovery and URL-path annotation (paper §2.1): where the classifier's misses are found.

    from dsmath_lib.corpus.annotation import discover_domains, candidate_paths, OracleAnnotator
    domains = discover_domains(collected_urls, pool_urls, threshold=0.10)
    candidates = candidate_paths(pool_urls, collected_urls, domains, depth=2)
    marked = OracleAnnotator(labels, MATH_KINDS)(candidates[:budget])     # {"forum0.example/questions/math"}

A domain is all pages sharing a host; it is math-related when more than `threshold` of its pool pages
were collected in the previous iteration. Inside those domains the annotation unit is a URL path prefix
of `depth` segments (host/questions/math). Candidates are ordered by how many of their pages were
collected (most promising first), and an annotator with a fixed budget judges them:
- `OracleAnnotator` stands in for the paper's human annotators at smoke/tiny scale: it reads the hidden
  true kinds and marks a path as math when more than half of its pages are math.
- `HumanAnnotator` (gpu/paper scale) writes the candidates with sample pages to a JSONL file for people
  to fill in (`"is_math": true/false`), and reads their marks back when the file has been completed, or
  reads them from a committed file of decisions (mining.decisions, as params/real-smoke/ holds).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Collection, Iterable, Mapping, Sequence
from urllib.parse import urlsplit


def domain_of(url: str) -> str:
    """The host of a URL, lowercased (a domain is all pages sharing it).

    >>> domain_of("https://Forum.example/questions/math/1")
    'forum.example'
    """
    return urlsplit(url if "://" in url else "//" + url).netloc.lower()


def url_path(url: str, depth: int = 2) -> str:
    """The annotation unit of a URL: host plus its first `depth` path segments.

    >>> url_path("https://forum.example/questions/math/12-thread")
    'forum.example/questions/math'
    >>> url_path("https://forum.example/about", depth=2)
    'forum.example/about'
    """
    parts = urlsplit(url if "://" in url else "//" + url)
    segments = [s for s in parts.path.split("/") if s][:depth]
    return "/".join([parts.netloc.lower()] + segments)


def discover_domains(collected: Collection[str], pool_urls: Iterable[str], threshold: float = 0.10) -> list[str]:
    """Domains with more than `threshold` of their pool pages collected, sorted.

    >>> discover_domains({"https://a.example/1"}, ["https://a.example/1", "https://a.example/2", "https://b.example/1"])
    ['a.example']
    """
    total, hit = Counter(), Counter()
    for url in pool_urls:
        d = domain_of(url)
        total[d] += 1
        hit[d] += url in collected
    return sorted(d for d, n in total.items() if hit[d] / n > threshold)


@dataclass(frozen=True)
class PathCandidate:
    path: str
    n_pages: int
    n_collected: int
    sample_urls: tuple[str, ...]


def candidate_paths(pool_urls: Iterable[str], collected: Collection[str], domains: Collection[str], depth: int = 2,
                    exclude: Collection[str] = (), samples: int = 3) -> list[PathCandidate]:
    """URL paths inside `domains`, not in `exclude`: most collected pages first, then highest collected share,
    then name (for determinism). Paths that fed the classifier most are the likeliest math."""
    domains = set(domains)
    urls_by_path: dict[str, list[str]] = {}
    for url in pool_urls:
        if domain_of(url) in domains:
            path = url_path(url, depth)
            if path not in exclude:
                urls_by_path.setdefault(path, []).append(url)
    cands = [PathCandidate(p, len(us), sum(u in collected for u in us), tuple(sorted(us)[:samples]))
             for p, us in urls_by_path.items()]
    return sorted(cands, key=lambda c: (-c.n_collected, -c.n_collected / c.n_pages, c.path))


class OracleAnnotator:
    """Marks a path as math when most of its pages' true kinds are math: the paper's humans, simulated."""

    def __init__(self, labels: Mapping[str, str], math_kinds: Collection[str], depth: int = 2):
        self.math_kinds = set(math_kinds)
        self.votes: dict[str, list[bool]] = {}
        for url, kind in labels.items():
            self.votes.setdefault(url_path(url, depth), []).append(kind in self.math_kinds)

    def __call__(self, candidates: Sequence[PathCandidate], iteration: int = 0) -> set[str]:
        return {c.path for c in candidates if self.is_math(c.path)}

    def is_math(self, path: str) -> bool:
        votes = self.votes.get(path, [])
        return bool(votes) and sum(votes) * 2 > len(votes)


def write_annotation_tasks(path: str | Path, candidates: Sequence[PathCandidate],
                           texts: Mapping[str, str], sample_chars: int = 600) -> Path:
    """One JSONL line per candidate path with sample pages and `"is_math": null` for a person to fill."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for c in candidates:
            row = asdict(c) | {"samples": [{"url": u, "text": texts.get(u, "")[:sample_chars]} for u in c.sample_urls],
                               "is_math": None}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_marks(path: str | Path) -> dict[str, bool]:
    """{path: is_math} of every line; a line without a true/false mark is an error naming it."""
    marks = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            mark, name = row["is_math"], row["path"]
        except (ValueError, KeyError) as err:
            raise ValueError(f"{path}:{lineno}: not an annotation record ({err})") from err
        if not isinstance(mark, bool):
            raise ValueError(f"{path}:{lineno}: path {name!r} has is_math={mark!r}; mark it true or false")
        marks[name] = mark
    return marks


def read_annotations(path: str | Path) -> set[str]:
    """The paths marked `"is_math": true`; a line without a true/false mark is an error naming it."""
    return {name for name, mark in read_marks(path).items() if mark}


class HumanAnnotator:
    """Annotation by people: iteration k's tasks go to folder/paths-k.jsonl; marks are read from
    folder/paths-k.done.jsonl (the same file, filled in and renamed). Until it exists, mining stops with an
    error saying which file to fill, and a rerun resumes from there. `decisions` (mining.decisions) is a JSONL
    file of {path, is_math} marks made in advance, for every iteration: when it decides every candidate no
    task is written; otherwise the undecided candidates are the task."""

    def __init__(self, folder: str | Path, texts: Mapping[str, str], decisions: str | Path | None = None):
        self.folder, self.texts = Path(folder), texts
        self.decisions = Path(decisions) if decisions else None

    def __call__(self, candidates: Sequence[PathCandidate], iteration: int = 0) -> set[str]:
        done = self.folder / f"paths-{iteration}.done.jsonl"
        if done.exists():
            return read_annotations(done)
        marks = read_marks(self.decisions) if self.decisions else {}
        undecided = [c for c in candidates if c.path not in marks]
        if self.decisions and not undecided:
            return {c.path for c in candidates if marks[c.path]}
        tasks = write_annotation_tasks(self.folder / f"paths-{iteration}.jsonl", undecided, self.texts)
        where = f" (or add its lines to {self.decisions})" if self.decisions else ""
        raise RuntimeError(f"annotate {tasks} (set is_math true/false on each line), save it as {done}{where}, rerun")
