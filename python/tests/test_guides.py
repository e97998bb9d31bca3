"""The Python blocks of README.md and of every guide in docs/ run as written, each in a fresh
namespace, so the docs cannot drift from the package (their Rust blocks are doctests of the
crate: `cargo test --doc`).

Conventions for a ```python block:
- a block that builds a FastAPI app names it `app`;
- a block written as pytest tests (`def test_...(mock_provider, verifier)`) has each test
  function called with the fixtures it names (`jwks_auth.pytest_plugin`'s, from conftest.py).
"""

import inspect
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    (str(path.relative_to(ROOT)), number, code)
    for path in FILES
    for number, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S))
]


def test_the_guides_have_python_blocks():
    files = {path for path, _, _ in BLOCKS}
    assert {"docs/fastapi.md", "docs/testing.md", "docs/revocation.md"} <= files, files
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize(
    "path, number, code", BLOCKS, ids=[f"{path}:{number + 1}" for path, number, _ in BLOCKS]
)
def test_python_block_runs(path, number, code, request):
    namespace: dict = {"__name__": f"guide_block_{number}"}
    exec(compile(code, f"{path} python block {number + 1}", "exec"), namespace)
    if "FastAPI(" in code:
        assert "app" in namespace  # a block that builds an app calls it `app`
    for name, function in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(function):
            fixtures = inspect.signature(function).parameters
            function(**{fixture: request.getfixturevalue(fixture) for fixture in fixtures})
