"""Web readers: real Common Crawl / dolma samples, corrupt records reported with file and offset, WET writer."""

import gzip
import json

import pytest

from dsmath_lib.webdata import WebPage, html_to_text, page_from_dict, read_jsonl, read_pages, write_jsonl, write_wet

PAGES = [WebPage("https://a.example/1", "Solve $2x = 4$.\nSo x = 2."), WebPage("https://b.example/q/2", "caf\u00e9 prices 3.50")]


@pytest.fixture(scope="module")
def web_sample(shared_data):
    folder = shared_data / "web-sample"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    return folder


def test_real_wet_and_warc_give_the_same_page(web_sample):
    errors = []
    wet = list(read_pages(web_sample / "cc-whirlwind" / "whirlwind.warc.wet", errors))
    warc = list(read_pages(web_sample / "cc-whirlwind" / "whirlwind.warc", errors))
    assert errors == []
    assert [p.url for p in wet] == [p.url for p in warc] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert wet[0].text.startswith("Escopete") and len(wet[0].text) > 4000
    assert wet[0].metadata["offset"] == 635 and wet[0].metadata["language"] == "spa"
    # our HTML extractor and Common Crawl's agree on most lines
    common = set(wet[0].text.splitlines()) & set(warc[0].text.splitlines())
    assert len(common) > 0.5 * len(set(wet[0].text.splitlines()))


def test_real_wat_has_no_page_text(web_sample):
    errors = []
    assert list(read_pages(web_sample / "cc-whirlwind" / "whirlwind.warc.wat", errors)) == [] and errors == []


def test_real_dolma_and_ccnet_jsonl(web_sample):
    errors = []
    gz = list(read_pages(web_sample / "dolma-cc" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz", errors))
    ccnet = list(read_pages(web_sample / "dolma-cc" / "cc_en_head-0091.jsonl", errors))
    assert errors == [] and len(gz) == 697 and len(ccnet) == 10
    assert gz[0].url == "16thfleet.wikidot.com/chatter:anewhome" and gz[0].text.startswith("A New Home?")
    assert sum(not p.text for p in gz) == 27  # empty pages are records too; the pool filter counts them
    assert ccnet[0].url.startswith("http://100kinvesting.com/") and ccnet[0].metadata["language"] == "en"


def test_corrupt_record_in_real_wet_is_reported_and_the_rest_read(web_sample, tmp_path):
    raw = (web_sample / "cc-whirlwind" / "whirlwind.warc.wet").read_bytes()
    second = raw.index(b"WARC/1.0", 10)  # the conversion record
    ours = tmp_path / "ours.wet"
    write_wet(ours, PAGES)
    bad = raw + raw[:second] + b"GARBAGE!" + raw[second + 8:] + ours.read_bytes()
    path = tmp_path / "bad.warc.wet"
    path.write_bytes(bad)
    errors = []
    pages = list(read_pages(path, errors))
    assert [p.url for p in pages] == ["https://an.wikipedia.org/wiki/Escopete"] + [p.url for p in PAGES]
    assert len(errors) == 1 and errors[0].file == str(path)
    assert errors[0].offset == len(raw) + second  # the corrupt record's first byte


def test_corrupt_gzip_member_is_reported(tmp_path):
    good = tmp_path / "good.warc.wet.gz"
    write_wet(good, PAGES)
    data = good.read_bytes()
    path = tmp_path / "bad.warc.wet.gz"
    path.write_bytes(data + data[:40] + b"\x00" * 30 + data[70:] + data)  # damage the second copy's warcinfo
    errors = []
    pages = list(read_pages(path, errors))
    assert [e.offset for e in errors] == [len(data)]
    assert [p.url for p in pages][:2] == [p.url for p in PAGES] and len(pages) >= 4


def test_wet_writer_round_trip_plain_and_gzip(tmp_path):
    for name in ("x.warc.wet", "x.warc.wet.gz"):
        assert write_wet(tmp_path / name, PAGES) == 2
        back = list(read_pages(tmp_path / name))
        assert [(p.url, p.text) for p in back] == [(p.url, p.text) for p in PAGES]
    assert gzip.open(tmp_path / "x.warc.wet.gz").read(8) == b"WARC/1.0"


def test_jsonl_bad_lines_reported_with_offset(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl(path, PAGES)
    good = path.read_bytes()
    path.write_bytes(good + b'{"url": "u", "text": \n' + b'{"url": "no-text"}\n' + good)
    errors = []
    pages = list(read_jsonl(path, errors))
    assert len(pages) == 4
    assert [e.offset for e in errors] == [len(good), len(good) + len(b'{"url": "u", "text": \n')]
    assert "line 3" in errors[0].reason and "line 4" in errors[1].reason


def test_page_from_dict_layouts():
    assert page_from_dict({"url": "https://x/1", "text": "t"}).url == "https://x/1"
    assert page_from_dict({"id": "https://x/2", "text": "t"}).url == "https://x/2"
    assert page_from_dict({"text": "t", "metadata": {"warc_url": "http://w"}}).url == "http://w"
    with pytest.raises(KeyError):
        page_from_dict({"url": "u"})
    assert json.loads(json.dumps(page_from_dict({"url": "u", "text": "t", "lang": "en"}).metadata)) == {"lang": "en"}


def test_html_to_text_and_unknown_format(tmp_path):
    assert html_to_text("<p>a</p><script>x=1</script><div>b &amp; c</div>") == "a\nb & c"
    with pytest.raises(ValueError, match="unknown web data format"):
        read_pages(tmp_path / "x.csv")


def test_resync_finds_a_record_header_across_read_chunks():
    import io

    from dsmath_lib.webdata import _next_record_start

    data = b"x" * 100 + b"\nWARC/1.0\r\n"
    assert _next_record_start(io.BytesIO(data), 0, chunk=7) == 101
    assert _next_record_start(io.BytesIO(b"z" * 50), 0, chunk=7) is None
