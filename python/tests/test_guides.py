"""The README's Python snippets run as written (each in a fresh namespace)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_snippets():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_snippet_runs(number):
    namespace: dict = {"__name__": f"readme_snippet_{number}"}
    exec(compile(BLOCKS[number], f"README.md python block {number + 1}", "exec"), namespace)
    assert "app" in namespace  # each snippet builds an app
