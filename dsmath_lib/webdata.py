"""Web page readers and a WET writer: Common Crawl WET / WARC files (through warcio) and JSONL files.

    from dsmath_lib.webdata import read_pages, write_wet
    errors = []
    pages = list(read_pages("CC-MAIN-...warc.wet.gz", errors))   # WebPage(url, text, metadata)
    errors  # [ReadError(file, offset, reason), ...] for every record that could not be read

Every reader yields the same `WebPage` record, whatever the format:
- WET (`.wet`, `.warc.wet[.gz]`): the `conversion` records, their plain text as is.
- WARC (`.warc[.gz]`): the `response` records with an HTML body, turned into text by a small stdlib
  extractor (block tags become line breaks; script and style are dropped). At gpu/paper scale use the WET
  files, or datatrove's Trafilatura step, which extract better; this one is enough for tests and samples.
- WAT (`.wat`): metadata only, no page text: read as WARC, it yields no page.
- JSONL (`.jsonl[.gz]`): one object per line with `text` and a URL in `url`, `metadata.url`,
  `metadata.warc_url` or a URL-shaped `id` (dolma's and CCNet's layouts); other fields go to metadata.

A corrupt record (an unparsable WARC header, a bad gzip member, a JSON line that does not parse or has no
text field) never ends the file and is never dropped silently: it is appended to the caller's `errors`
list as ReadError(file, byte offset, reason), logged, and reading resumes at the next record (for WARC,
the next `WARC/1.` header line or gzip member found after the bad offset).
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

log = logging.getLogger(__name__)


@dataclass
class WebPage:
    """A web page as the miner sees it: its URL, its text and optional metadata (date, source file, ...)."""

    url: str
    text: str
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReadError:
    """A record that could not be read: the file, the byte offset where it starts, and why."""

    file: str
    offset: int
    reason: str


def read_pages(path: str | Path, errors: list[ReadError] | None = None) -> Iterator[WebPage]:
    """Read any supported file, chosen by its name; corrupt records go to `errors` (see module doc)."""
    name = Path(path).name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
        return read_jsonl(path, errors)
    if re.search(r"\.(warc|wet|wat|arc)(\.gz)?$", name):
        return read_warc(path, errors)
    raise ValueError(f"{path}: unknown web data format (expected .warc, .wet, .wat or .jsonl, optionally .gz)")


def _report(errors: list[ReadError] | None, file: str, offset: int, reason: str) -> None:
    log.warning("%s: skipped corrupt record at byte %d: %s", file, offset, reason)
    if errors is not None:
        errors.append(ReadError(str(file), offset, reason))


# ---------------------------------------------------------------------------------------- WARC / WET
def read_warc(path: str | Path, errors: list[ReadError] | None = None) -> Iterator[WebPage]:
    """Pages from a WARC, WET or WAT file (plain or gzipped per record). Offsets are in the file's bytes."""
    with open(path, "rb") as f:
        yield from _pages_resilient(f, str(path), errors)


def _pages_resilient(f, file: str, errors: list[ReadError] | None) -> Iterator[WebPage]:
    """Pages from warcio's records; after a failure, report it and restart at the next record found."""
    pos = 0
    while True:
        f.seek(pos)
        it = ArchiveIterator(f)
        next_start = pos  # where the record after the last good one begins
        try:
            for record in it:
                page = _page_from_record(record, file)  # reads the content: before get_record_offset,
                offset = it.get_record_offset()  # which skips to the record's end
                next_start = offset + it.get_record_length()
                if page is not None:
                    page.metadata["offset"] = offset
                    yield page
            return
        except Exception as err:  # warcio raises ArchiveLoadFailed, zlib/gzip errors, ValueError, ...
            bad = _skip_blank(f, next_start)
            nxt = _next_record_start(f, bad + 1)
            skipped = f"bytes {bad}..{nxt if nxt is not None else 'end'} skipped"
            _report(errors, file, bad, f"{type(err).__name__}: {str(err)[:120]!r} ({skipped})")
            if nxt is None:
                return
            pos = nxt


def _skip_blank(f, pos: int) -> int:
    """The offset of the first non-newline byte at or after `pos` (records are separated by CRLF CRLF)."""
    f.seek(pos)
    chunk = f.read(64)
    return pos + len(chunk) - len(chunk.lstrip(b"\r\n"))


def _next_record_start(f, start: int, chunk: int = 1 << 20) -> int | None:
    """Byte offset of the next WARC header line or gzip member at or after `start`, or None (reads by chunks)."""
    pos = start
    while True:
        f.seek(pos)
        data = f.read(chunk + 8)  # 8 bytes of overlap: a marker cut by the chunk boundary is still found
        hits = [i for i in (data.find(b"\nWARC/1."), data.find(b"\x1f\x8b\x08")) if i >= 0]
        if hits:
            i = min(hits)
            return pos + i + (1 if data[i:i + 1] == b"\n" else 0)
        if len(data) <= 8:
            return None
        pos += chunk


def _page_from_record(record, file: str) -> WebPage | None:
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI") or ""
    meta = {"warc_date": headers.get_header("WARC-Date"), "source_file": file,
            "record_id": headers.get_header("WARC-Record-ID")}
    if record.rec_type == "conversion":
        text = record.content_stream().read().decode("utf-8", errors="replace")
        return WebPage(url, text, meta | {"language": headers.get_header("WARC-Identified-Content-Language")})
    if record.rec_type == "response" and record.http_headers is not None:
        ctype = record.http_headers.get_header("Content-Type") or ""
        if "html" in ctype.lower():
            html = record.content_stream().read().decode("utf-8", errors="replace")
            return WebPage(url, html_to_text(html), meta)
    return None


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "title", "pre"}
    SKIP = {"script", "style", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in self.SKIP
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.skipping -= tag in self.SKIP and self.skipping > 0
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block per line.

    >>> html_to_text("<html><style>p{}</style><p>Hello <b>world</b></p><p>2 + 2 = 4</p></html>")
    'Hello world\\n2 + 2 = 4'
    """
    parser = _TextExtractor()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def write_wet(path: str | Path, pages: Iterable[WebPage], compress: bool | None = None) -> int:
    """Write pages as a WET file (warcinfo + one `conversion` record per page); returns the page count.

    compress: gzip each record (Common Crawl's .warc.wet.gz layout); default: when the name ends in .gz.
    """
    path = Path(path)
    compress = path.name.endswith(".gz") if compress is None else compress
    n = 0
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=compress)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "dsmath_lib.webdata"}))
        for page in pages:
            headers = {"WARC-Date": page.metadata.get("warc_date") or "2024-01-01T00:00:00Z"}
            record = writer.create_warc_record(
                page.url, "conversion", payload=io.BytesIO(page.text.encode("utf-8")),
                warc_headers_dict=headers, http_headers=None,
            )
            record.rec_headers.replace_header("Content-Type", "text/plain")
            writer.write_record(record)
            n += 1
    return n


# --------------------------------------------------------------------------------------------- JSONL
def read_jsonl(path: str | Path, errors: list[ReadError] | None = None) -> Iterator[WebPage]:
    """Pages from a JSONL file (gzip when the name ends in .gz); offsets are in uncompressed bytes."""
    opener = gzip.open if str(path).endswith(".gz") else open
    offset = 0
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                page = page_from_dict(json.loads(raw))
            except (ValueError, TypeError, KeyError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                _report(errors, str(path), start, f"line {lineno}: {type(err).__name__}: {err}")
                continue
            page.metadata.setdefault("source_file", str(path))
            yield page


def page_from_dict(d: dict) -> WebPage:
    """A WebPage from one JSON object ({url, text} or dolma / CCNet layouts); KeyError if it has no text.

    >>> page_from_dict({"id": "x", "text": "hi", "metadata": {"url": "a.example/p"}}).url
    'a.example/p'
    """
    if not isinstance(d, dict):
        raise TypeError(f"expected a JSON object, got {type(d).__name__}")
    if not isinstance(d.get("text"), str):
        raise KeyError("no 'text' string field")
    meta = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
    ident = str(d.get("id", ""))
    url = d.get("url") or meta.get("url") or meta.get("warc_url") or (ident if "://" in ident else "")
    extra = {k: v for k, v in d.items() if k not in ("text", "url", "metadata")}
    return WebPage(str(url), d["text"], {**meta, **extra})


def write_jsonl(path: str | Path, pages: Iterable[WebPage]) -> int:
    """Write pages as JSONL {url, text, metadata}; returns the count."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for page in pages:
            f.write(json.dumps({"url": page.url, "text": page.text, "metadata": page.metadata}, ensure_ascii=False) + "\n")
            n += 1
    return n


__all__ = ["WebPage", "ReadError", "read_pages", "read_warc", "read_jsonl", "write_wet", "write_jsonl",
           "html_to_text", "page_from_dict"]
