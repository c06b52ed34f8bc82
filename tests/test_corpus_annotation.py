"""Domain discovery, candidate paths, the oracle annotator and the human annotation files."""

import json

import pytest

from dsmath_lib.corpus.annotation import (HumanAnnotator, OracleAnnotator, candidate_paths, discover_domains,
                                          read_annotations, url_path, write_annotation_tasks)

POOL = [f"https://forum.example/questions/math/{i}" for i in range(3)] + \
       [f"https://forum.example/questions/cooking/{i}" for i in range(7)] + \
       [f"https://blog.example/posts/{i}" for i in range(20)]
LABELS = {u: ("math_forum" if "/math/" in u else "prose") for u in POOL}


def test_domain_discovery_threshold_is_strict():
    collected = {POOL[0], POOL[1], "https://blog.example/posts/0", "https://blog.example/posts/1"}
    assert discover_domains(collected, POOL, 0.10) == ["forum.example"]  # 2/10 > 10%, blog 2/20 is not


def test_candidates_ordered_by_collected_pages_and_excluded():
    cands = candidate_paths(POOL, {POOL[0]}, ["forum.example"], depth=2)
    assert [c.path for c in cands] == ["forum.example/questions/math", "forum.example/questions/cooking"]
    assert cands[0].n_pages == 3 and cands[0].n_collected == 1
    assert candidate_paths(POOL, set(), ["forum.example"], exclude={"forum.example/questions/math"})[0].path.endswith("cooking")
    assert url_path("https://forum.example/questions/math/1", depth=1) == "forum.example/questions"


def test_oracle_marks_majority_math_paths():
    cands = candidate_paths(POOL, set(), ["forum.example", "blog.example"])
    assert OracleAnnotator(LABELS, {"math_forum"})(cands) == {"forum.example/questions/math"}


def test_annotation_file_round_trip_and_errors(tmp_path):
    cands = candidate_paths(POOL, set(), ["forum.example"])
    path = write_annotation_tasks(tmp_path / "t.jsonl", cands, {u: "text of " + u for u in POOL})
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0]["samples"][0]["text"].startswith("text of") and rows[0]["is_math"] is None
    with pytest.raises(ValueError, match="t.jsonl:1: path .* is_math=None"):
        read_annotations(path)
    for row in rows:
        row["is_math"] = "/math" in row["path"]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert read_annotations(path) == {"forum.example/questions/math"}


def test_human_annotator_asks_then_reads(tmp_path):
    ann = HumanAnnotator(tmp_path, {})
    cands = candidate_paths(POOL, set(), ["forum.example"])
    with pytest.raises(RuntimeError, match="paths-2.done.jsonl"):
        ann(cands, 2)
    rows = [json.loads(x) | {"is_math": True} for x in (tmp_path / "paths-2.jsonl").read_text().splitlines()[:1]]
    (tmp_path / "paths-2.done.jsonl").write_text(json.dumps(rows[0]) + "\n")
    assert ann(cands, 2) == {rows[0]["path"]}
