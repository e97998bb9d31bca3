#!/usr/bin/env bash
# The Python distribution as a user gets it: `maturin sdist`, then a wheel built FROM that
# sdist by pip (PEP 517, maturin as the backend: proves the sdist is complete, the library
# crate it depends on by path included), installed into a fresh venv from the file alone
# (no index, no extras), where `jwks_auth` imports, verifies a token minted by
# `jwks_auth.testing`, and reports its metadata (importlib.metadata).
#
#   python/check-dist.sh      # after python/ci.sh, whose venv (maturin) and target/ it reuses
#
# The wheel is a debug build into ${CARGO_TARGET_DIR:-target} (only the two local crates
# recompile when python/ci.sh ran before); the sdist and wheel go to <target>/dist.
# About 45 s after python/ci.sh on 2 busy cores, 15 s when nothing changed.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
VENV="$TARGET/python-venv"
DIST="$TARGET/dist"
[ -x "$VENV/bin/maturin" ] || { echo "check-dist.sh: run python/ci.sh first (no $VENV)" >&2; exit 2; }
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$HERE/Cargo.toml" | head -n1)"

rm -rf "$DIST"
mkdir -p "$DIST"
"$VENV/bin/maturin" sdist --manifest-path "$HERE/Cargo.toml" --out "$DIST"
SDIST="$DIST/jwks_auth-$VERSION.tar.gz"
[ -f "$SDIST" ] || { echo "check-dist.sh: no $SDIST" >&2; ls "$DIST" >&2; exit 1; }

# The sdist: the Python package with its typing marker and stubs, the license, and the Rust
# library it builds (sources, presets, the testing kit's fixtures); no tests or node projects.
"$VENV/bin/python" - "$SDIST" <<'PY'
import sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
root = names[0].split("/")[0]
files = {name[len(root) + 1:] for name in names if name.startswith(root + "/")}
def has(suffix):
    return any(f == suffix or f.endswith("/" + suffix) for f in files)
need = ["PKG-INFO", "pyproject.toml", "LICENSE", "jwks_auth/__init__.py", "jwks_auth/py.typed",
        "jwks_auth/_jwks_auth.pyi", "jwks_auth/testing.py", "src/lib.rs", "build.rs",
        "providers/better-auth.toml", "fixtures/keys/ed25519-a.pem", "fixtures/keys/hs-secret.txt",
        "src/testing/keys.rs", "Cargo.lock"]
missing = [n for n in need if not has(n)]
banned = sorted(f for f in files if any(part in ("node_modules", "interop", "tests", "benches",
                                                 "frameworks", "fuzz", "bench")
                                        for part in f.split("/")[:-1]))
if missing or banned:
    sys.exit(f"sdist: missing {missing}, unexpected {banned[:20]}")
print(f"sdist: {len(files)} files, {sys.argv[1].rsplit('/', 1)[-1]}")
PY

# A wheel from the sdist alone, as `pip install jwks_auth-<v>.tar.gz` builds it (debug
# profile and the shared target dir, to reuse python/ci.sh's build of the dependencies).
PATH="$VENV/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" CARGO_TARGET_DIR="$TARGET" \
  "$VENV/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps \
  --no-build-isolation --wheel-dir "$DIST" "$SDIST"
WHEEL="$(ls "$DIST"/jwks_auth-"$VERSION"-*.whl)"

# A fresh venv, the wheel from the file only (no index, no extras).
FRESH="$DIST/venv"
python3 -m venv "$FRESH"
"$FRESH/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$WHEEL"
cd "$DIST" # not the source tree: `import jwks_auth` is the installed wheel
"$FRESH/bin/python" - "$VERSION" <<'PY'
import importlib.metadata as md
import pathlib, sys

import jwks_auth
from jwks_auth import Verifier
from jwks_auth.testing import MockProvider

assert "site-packages" in jwks_auth.__file__, jwks_auth.__file__
with MockProvider("better-auth") as mock:
    user = Verifier(mock.provider()).verify_sync(mock.token().sub("user_1").scope("read").sign())
assert (user.id, user.scopes) == ("user_1", ["read"]), (user.id, user.scopes)

version = sys.argv[1]
meta = md.metadata("jwks-auth")
assert meta["Name"] == "jwks-auth", meta["Name"]
assert meta["Version"] == version == jwks_auth.__version__, (meta["Version"], version)
assert meta["Requires-Python"] == ">=3.9", meta["Requires-Python"]
assert meta["License-Expression"] == "MIT OR Apache-2.0", meta["License-Expression"]
assert meta["Summary"].startswith("Verify identity-provider JWTs"), meta["Summary"]
assert "jwks-auth developers" in (meta["Author"] or "") + (meta["Author-email"] or "")
classifiers = meta.get_all("Classifier")
for c in ("Typing :: Typed", "Operating System :: POSIX :: Linux",
          "Programming Language :: Python :: 3.9", "Framework :: FastAPI"):
    assert c in classifiers, c
assert not [c for c in classifiers if c.startswith("License ::")], "PEP 639: no license classifiers"
urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
assert {"Homepage", "Repository", "Documentation", "Issues", "Changelog"} <= urls.keys(), urls
assert meta.get_all("Provides-Extra") == ["fastapi", "prometheus"], meta.get_all("Provides-Extra")
assert all("extra ==" in r for r in meta.get_all("Requires-Dist") or []), "a required dependency"
assert meta.get_payload().lstrip().startswith("# jwks-auth for Python"), "README as description"
files = {str(f) for f in md.files("jwks-auth")}
for f in ("jwks_auth/py.typed", "jwks_auth/_jwks_auth.pyi"):
    assert f in files, f
assert any(f.endswith("licenses/LICENSE") for f in files), sorted(files)
print(f"wheel: jwks-auth {version} from the sdist installs alone; a mock token verifies")
PY
