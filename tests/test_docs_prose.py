"""Short sentences: none over 40 words in the README, the docs pages and the benchmark notes;
and a README that fits its outline.

Pages are read as a reader sees them: snippets included and placeholders filled
(docs/numbers.py). Code blocks, tables, headings and HTML comments are not prose; each
paragraph and each list item is split into sentences at a full stop, question or
exclamation mark followed by a space and anything but a lower-case letter.
"""

import re
from pathlib import Path

import pytest

from docs import numbers

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 40
FILES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")),
         "benchmarks/README.md", "benchmarks/quality/NOTES.md", "benchmarks/shape_motion/RESULTS.md"]
FENCE = re.compile(r"^\s*(```|~~~)")
ITEM = re.compile(r"^([-*+]|\d+\.)\s")
END = re.compile(r"(?<=[.!?])\s+(?=[^a-z])")


def paragraphs(text: str) -> list[str]:
    """The prose of a Markdown text, one string per paragraph or list item."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    found, current, fenced = [], [], False
    for line in text.splitlines():
        stripped = line.strip()
        if FENCE.match(line):
            fenced = not fenced
        prose = not fenced and stripped and not FENCE.match(line) and not stripped.startswith(("|", "#"))
        if current and (not prose or ITEM.match(stripped)):
            found.append(" ".join(current))
            current = []
        if prose:
            current.append(stripped)
    return found + [" ".join(current)] * bool(current)


def sentences(text: str) -> list[str]:
    """The sentences of a Markdown text's prose, links reduced to their text."""
    out = []
    for paragraph in paragraphs(text):
        paragraph = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", paragraph)
        out += END.split(paragraph)
    return out


def as_read(path: str) -> str:
    """A file's text as a reader sees it: a docs page with its snippets and numbers filled in."""
    text = (ROOT / path).read_text()
    if path.startswith("docs/"):
        text = numbers.fill(numbers.include(text), Path(path).name)
    return text


def test_sentences_are_split_as_a_reader_reads_them():
    text = """# A heading of many words that is not prose at all and so is never counted here

First sentence, e.g. with an abbreviation. Second one? Third!
A sentence that runs on
over two lines.

- an item
- another item. With two sentences.

| a table | of cells |
|---|---|

```bash
echo code is not prose. Neither is this.
```
<!-- nor a comment. -->
See [the page](page.md) here."""
    assert sentences(text) == ["First sentence, e.g. with an abbreviation.", "Second one?", "Third!",
                               "A sentence that runs on over two lines.", "- an item", "- another item.",
                               "With two sentences.", "See the page here."]


@pytest.mark.parametrize("path", FILES)
def test_no_sentence_is_over_40_words(path):
    long = [f"{len(s.split())} words: {s}" for s in sentences(as_read(path)) if len(s.split()) > LIMIT]
    assert not long, "\n".join(long)


def test_the_readme_fits_its_outline():
    """At most 120 lines: one sentence of what vidgan is, its pictures, then the outline's
    sections in order; every picture and page it points to is in the repository."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 120
    assert len(sentences(paragraphs(readme)[0])) == 1
    assert [line[3:] for line in readme.splitlines() if line.startswith("## ")] == [
        "Two commands", "What a run leaves behind", "Recipes", "Results", "What you can do", "Learn more"]
    pictures = re.findall(r'!\[[^\]]*\]\(([^)]+)\)|<img src="([^"]+)"', readme)
    pictures = [a or b for a, b in pictures]
    assert any(p.endswith(".gif") for p in pictures) and any(p.endswith("report.png") for p in pictures)
    targets = pictures + re.findall(r"(?<!!)\[[^\]]*\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    missing = [t for t in targets if "://" not in t and not (ROOT / t).exists()]
    assert not missing, f"README.md points to missing files: {missing}"
