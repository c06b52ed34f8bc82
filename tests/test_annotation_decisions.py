"""mining.decisions: URL-path marks made in advance, read by HumanAnnotator before it asks people; and the
{shared_data} prefix of params paths."""

import json

import pytest

from dsmath_lib import paths
from dsmath_lib.corpus.annotation import HumanAnnotator, PathCandidate, read_marks


def _cands(*names):
    return [PathCandidate(n, 2, 1, (f"https://{n}/1",)) for n in names]


def test_decisions_answer_every_candidate_they_cover(tmp_path):
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text('{"path": "a.example/math", "is_math": true}\n{"path": "a.example/news", "is_math": false}\n')
    annotate = HumanAnnotator(tmp_path / "ann", {}, decisions)
    assert annotate(_cands("a.example/math", "a.example/news"), iteration=0) == {"a.example/math"}
    assert read_marks(decisions) == {"a.example/math": True, "a.example/news": False}


def test_an_undecided_candidate_becomes_a_task(tmp_path):
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text('{"path": "a.example/math", "is_math": true}\n')
    annotate = HumanAnnotator(tmp_path / "ann", {}, decisions)
    with pytest.raises(RuntimeError, match="decisions.jsonl"):
        annotate(_cands("a.example/math", "b.example/x"), iteration=1)
    tasks = [json.loads(line) for line in (tmp_path / "ann" / "paths-1.jsonl").read_text().splitlines()]
    assert [t["path"] for t in tasks] == ["b.example/x"]


def test_shared_data_prefix_expands():
    assert paths.expand("{shared_data}/web-sample/x.wet") == str(paths.SHARED_DATA / "web-sample/x.wet")
    assert paths.expand("../data/*.wet") == "../data/*.wet"
