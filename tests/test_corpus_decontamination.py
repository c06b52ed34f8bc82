"""Decontamination: every exact planted copy removed, light paraphrases caught, heavy ones not; short texts."""

from dsmath_lib.corpus.decontamination import BenchmarkIndex, clean_text, decontaminate, words
from dsmath_lib.synth.crawl import make_crawl
from dsmath_lib.webdata import WebPage

QUESTIONS = [
    "Mia buys 7 packs of 12 crayons and gives 15 crayons to her brother. How many crayons does Mia keep?",
    "A train travels 60 miles per hour for 3 hours and then 40 miles per hour for 2 hours. How far does it go?",
    "Find the remainder when $2^{10}$ is divided by $7$, and explain each step of your reasoning.",
]


def test_words_lowercase_and_strip_punctuation():
    assert words("Mia's 7-packs, ($2^{10}$)!") == ["mia", "s", "7", "packs", "2", "10"]


def test_all_planted_copies_removed_and_light_paraphrases_caught():
    crawl = make_crawl(600, seed=0, planted_texts=QUESTIONS)
    pages = crawl.web_pages()
    index = BenchmarkIndex.build(QUESTIONS)
    clean, report = decontaminate(pages, index)
    planted_urls = {p.url for p in crawl.pages if p.kind == "planted"}
    assert planted_urls <= set(report.removed_urls)  # exact copies and paraphrases, duplicates included
    for page in clean:
        toks = " ".join(words(page.text))
        assert all(" ".join(words(q)[:10]) not in toks for q in QUESTIONS)
    # only the question lines went: the homework pages keep their other lines
    assert report.pages_removed == 0 and report.segments_removed >= len(planted_urls)
    assert set(report.removed_urls) == planted_urls  # nothing else in the crawl was touched


def test_heavy_paraphrase_with_no_surviving_10gram_is_not_caught():
    q = words(QUESTIONS[1])
    heavy = " ".join(w if i % 8 else "x" for i, w in enumerate(q))  # a changed word every 8: no 10-gram left
    assert clean_text(heavy, BenchmarkIndex.build(QUESTIONS)) == (heavy, 0)


def test_question_split_over_lines_is_found_and_both_lines_go():
    text = "Intro.\nA train travels 60 miles per hour for 3 hours\nand then 40 miles per hour for 2 hours.\nOutro."
    assert clean_text(text, BenchmarkIndex.build(QUESTIONS)) == ("Intro.\nOutro.", 2)


def test_short_benchmark_texts_matched_whole_and_tiny_ones_ignored():
    index = BenchmarkIndex.build(["x plus 5", "the answer is 42", "x = 5"])
    assert clean_text("Here: the answer is 42.\nother line", index) == ("other line", 1)
    assert clean_text("the answer is 41", index)[1] == 0
    assert clean_text("so x plus 5 holds", index)[1] == 1
    assert clean_text("so x = 5 holds", index)[1] == 0 and sorted(index.short) == [3, 4]  # 2 words: ignored


def test_page_fully_contaminated_is_dropped():
    clean, report = decontaminate([WebPage("u", QUESTIONS[0]), WebPage("v", "fine")], BenchmarkIndex.build(QUESTIONS))
    assert [p.url for p in clean] == ["v"] and report.pages_removed == 1 and report.pages_touched == 1
