"""Every relative link in README.md, the guides in docs/, BENCHMARKS.md and SECURITY.md
points to a file that exists, and every `#anchor` to a heading of its target."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FILES = [
    ROOT / "README.md",
    ROOT / "BENCHMARKS.md",
    ROOT / "SECURITY.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(path: pathlib.Path) -> str:
    """The text outside fenced code blocks (a `# ` line in a block is not a heading)."""
    return re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)


def anchors(path: pathlib.Path) -> set:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, `-1`, `-2`
    for repeats."""
    seen: dict = {}
    result = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", prose(path), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


LINKS = [
    (path, target)
    for path in FILES
    for target in LINK.findall(prose(path))
    if not re.match(r"[a-z]+:", target)  # http(s), mailto: not checked here
]


def test_there_are_links_to_check():
    assert len(LINKS) > 20


@pytest.mark.parametrize(
    "path, target", LINKS, ids=[f"{p.relative_to(ROOT)}->{t}" for p, t in LINKS]
)
def test_relative_link_resolves(path, target):
    file, _, anchor = target.partition("#")
    resolved = (path.parent / file).resolve() if file else path
    assert resolved.exists(), f"{path.relative_to(ROOT)}: {target}: no such file"
    if anchor:
        assert resolved.suffix == ".md", f"{path.relative_to(ROOT)}: {target}: anchor in a non-markdown file"
        assert anchor in anchors(resolved), (
            f"{path.relative_to(ROOT)}: {target}: no heading #{anchor} in {resolved.name}"
        )
