"""The type stubs (`_jwks_auth.pyi`) name every public member of the extension's classes."""

import ast
import pathlib

import jwks_auth
from jwks_auth import _jwks_auth


def stub_members():
    stub = pathlib.Path(jwks_auth.__file__).with_name("_jwks_auth.pyi")
    tree = ast.parse(stub.read_text())
    members = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members[node.name] = {
                item.name for item in node.body if isinstance(item, ast.FunctionDef)
            }
    return members


def test_stubs_cover_the_extension_classes():
    members = stub_members()
    classes = [
        "Provider",
        "Verifier",
        "AuthUser",
        "MultiVerifier",
        "InMemoryRevocationStore",
        "RedisRevocationStore",
        "Revocations",
        "RequestEdge",
        "ProtectedResource",
        "Refusal",
        "DpopKey",
        "MockProvider",
        "TokenBuilder",
    ]
    for name in classes:
        cls = getattr(_jwks_auth, name)
        public = {m for m in vars(cls) if not m.startswith("_")}
        assert public <= members[name], f"{name}: not in the stub: {public - members[name]}"
        assert members[name] - {"__init__", "__enter__", "__exit__"} <= public, name


def test_stubs_cover_the_extension_functions():
    stub = pathlib.Path(jwks_auth.__file__).with_name("_jwks_auth.pyi")
    tree = ast.parse(stub.read_text())
    stubbed = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    functions = {
        name
        for name, member in vars(_jwks_auth).items()
        if callable(member) and not isinstance(member, type) and not name.startswith("_")
    }
    assert {"render_metrics", "metric_families"} <= functions
    assert functions == stubbed


def test_package_ships_py_typed():
    assert pathlib.Path(jwks_auth.__file__).with_name("py.typed").is_file()
