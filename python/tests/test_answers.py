"""The table of expected answers (``tests/answers.json``, shared with the Rust runners in
``frameworks/tests/answers.rs``) run through FastAPI: ``configure`` + ``AuthMiddleware`` +
routes guarded with ``require_scopes`` / ``require_same_user``, driven with ``TestClient``.
Every row is sent, then the test fails listing every row whose answer differs from the
table's."""

import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from jwks_auth import AuthUser, InMemoryRevocationStore, StepUp, Verifier
from jwks_auth.fastapi import (
    AuthMiddleware,
    configure,
    current_user,
    require_acr,
    require_auth_age,
    require_same_user,
    require_scopes,
    require_step_up,
)
from jwks_auth.testing import DpopKey, MockProvider

TABLE_PATH = Path(__file__).parent / ".." / ".." / "tests" / "answers.json"
ADAPTER = "fastapi"
ADAPTERS = ("axum", "actix", "tonic", "fastapi")

#: The ``sub`` of every minted token; the same-user route's own id.
SUBJECT = "user_1"
#: The ``sid`` of every minted token, revoked for the ``revoked`` credential.
SESSION = "session_1"
#: What the public route answers: it reads no user.
ANONYMOUS = "anonymous"

#: A missing field of an expected answer means none.
ANSWER_DEFAULTS = {"www_authenticate": [], "error": None, "scope": None, "retry_after": False}


def load_table() -> Dict[str, Any]:
    table = json.loads(TABLE_PATH.read_text())
    names = {row["name"] for row in table["rows"]}
    for known in table["known_differences"]:
        assert known["row"] in names, f"known_differences names no row: {known['row']!r}"
        assert known["adapter"] in ADAPTERS, f"known_differences names no adapter: {known}"
    return table


def expected_answer(row: Dict[str, Any]) -> Dict[str, Any]:
    """The row's expected answer, in the order ``answer_of`` gives its fields."""
    expect = {**ANSWER_DEFAULTS, "user": None, **row["expect"], "echoes_credential": False}
    return {"status": expect.pop("status"), **expect}


def app_for(verifier: Verifier, origin: str) -> FastAPI:
    app = FastAPI()
    configure(app, verifier, external_origin=origin)
    app.add_middleware(AuthMiddleware, prefix="/", public_paths=["/health"])

    @app.get("/me", response_class=PlainTextResponse)
    async def me(user: AuthUser = Depends(current_user)) -> str:
        return user.id

    @app.get("/admin", response_class=PlainTextResponse)
    async def admin(user: AuthUser = Depends(require_scopes("admin"))) -> str:
        return user.id

    @app.get("/users/{id}", response_class=PlainTextResponse)
    async def same_user(user: AuthUser = Depends(require_same_user("id"))) -> str:
        return user.id

    @app.get("/health", response_class=PlainTextResponse)
    async def health() -> str:
        return ANONYMOUS

    @app.get("/transfer", response_class=PlainTextResponse)
    async def transfer(user: AuthUser = Depends(require_acr("urn:example:mfa"))) -> str:
        return user.id

    @app.get("/recent", response_class=PlainTextResponse)
    async def recent(user: AuthUser = Depends(require_auth_age(300))) -> str:
        return user.id

    @app.get("/mfa", response_class=PlainTextResponse)
    async def mfa(user: AuthUser = Depends(require_step_up(StepUp.mfa(max_age=600)))) -> str:
        return user.id

    @app.get("/reverify", response_class=PlainTextResponse)
    async def reverify(
        user: AuthUser = Depends(require_step_up(StepUp.reverification("strict"))),
    ) -> str:
        return user.id

    return app


Headers = List[Tuple[str, str]]


def mint(credential: str, mock: MockProvider, url: str, origin: str) -> Tuple[Headers, List[str]]:
    """The headers carrying ``credential``, and the tokens and proofs never to be echoed."""

    def user():
        return mock.token().sub(SUBJECT).sid(SESSION).scope("read")

    key = DpopKey()

    def dpop(proof_url: Optional[str]) -> Tuple[Headers, List[str]]:
        token = user().dpop_bound(key).sign()
        headers, secrets = [("authorization", f"DPoP {token}")], [token]
        if proof_url is not None:
            proof = key.proof("GET", proof_url, token=token)
            headers.append(("dpop", proof))
            secrets.append(proof)
        return headers, secrets

    if credential == "none":
        return [], []
    if credential == "garbage":
        return [("authorization", "Bearer not-a-jwt")], []
    if credential == "basic_scheme":
        return [("authorization", "Basic dXNlcjpwYXNz")], ["dXNlcjpwYXNz"]
    if credential == "empty_authorization":
        return [("authorization", "")], []
    if credential in ("dpop_valid", "dpop_replayed"):
        return dpop(url)
    if credential == "dpop_wrong_htu":
        return dpop(origin + "/elsewhere")
    if credential == "dpop_missing_proof":
        return dpop(None)
    tokens = {
        "valid": lambda: user().sign(),
        "revoked": lambda: user().sign(),
        "keys_unreachable": lambda: user().sign(),
        "two_authorization_headers": lambda: user().sign(),
        "bearer_with_two_tokens": lambda: user().sign(),
        "lowercase_bearer": lambda: user().sign(),
        "valid_with_admin_scope": lambda: user().scope("read admin").sign(),
        "expired": lambda: user().expired().sign(),
        "wrong_audience": lambda: user().audience("https://other.example").sign(),
        "wrong_issuer": lambda: user().issuer("https://wrong-issuer.example/").sign(),
        "not_yet_valid": lambda: user().not_before_in(3600).sign(),
        "unknown_signing_key": lambda: user().sign_with_wrong_key(),
        "unknown_key_id": lambda: user().kid("no-such-key").sign(),
        "dpop_bound_as_bearer": lambda: user().dpop_bound(key).sign(),
        "valid_with_mfa_acr": lambda: user().claim("acr", "urn:example:mfa").sign(),
        "authenticated_long_ago": lambda: user().claim("auth_time", int(time.time()) - 3600).sign(),
        "authenticated_just_now": lambda: user().claim("auth_time", int(time.time())).sign(),
        "fresh_reverification": lambda: user().claim("fva", [1, -1]).sign(),
        "mfa_just_now": lambda: user()
        .claim("amr", ["pwd", "mfa"])
        .claim("auth_time", int(time.time()))
        .sign(),
    }
    token = tokens[credential]()
    if credential == "two_authorization_headers":
        headers = [("authorization", f"Bearer {token}")] * 2
    elif credential == "bearer_with_two_tokens":
        headers = [("authorization", f"Bearer {token} {token}")]
    elif credential == "lowercase_bearer":
        headers = [("authorization", f"bearer {token}")]
    else:
        headers = [("authorization", f"Bearer {token}")]
    return headers, [token]


def answer_of(response, secrets: List[str]) -> Dict[str, Any]:
    """The response in the table's terms."""
    ok = response.status_code == 200
    body = {} if ok else response.json()
    everything = response.text + repr(response.headers.multi_items())
    return {
        "status": response.status_code,
        "www_authenticate": response.headers.get_list("www-authenticate"),
        "error": body.get("error"),
        "scope": body.get("scope"),
        "retry_after": "retry-after" in response.headers,
        "user": response.text if ok else None,
        "echoes_credential": any(secret in everything for secret in secrets),
    }


def run_row(table: Dict[str, Any], row: Dict[str, Any]) -> Dict[str, Any]:
    """A fresh mock, cold verifier (in-memory revocation; DPoP allowed for DPoP rows) and
    app; the row's precondition; its request (twice for a replayed proof: the last counts)."""
    request = row["request"]
    credential = request["credential"]
    origin = table["dpop_origin"]
    with MockProvider("auth0") as mock:
        headers, secrets = mint(credential, mock, origin + request["path"], origin)
        verifier = Verifier(
            mock.provider(),
            revocation=InMemoryRevocationStore(),
            dpop="allowed" if row.get("dpop") else "off",
        )
        if credential == "revoked":
            verifier.revocations.revoke_session_sync(SESSION)
        if credential == "keys_unreachable":
            mock.fail_next(10, 500)
        with TestClient(app_for(verifier, origin)) as client:
            sends = 2 if credential == "dpop_replayed" else 1
            for _ in range(sends):
                response = client.request(request["method"], request["path"], headers=headers)
            return answer_of(response, secrets)


def test_fastapi_gives_the_tables_answers():
    table = load_table()
    known = {(k["row"], k["adapter"]): k["reason"] for k in table["known_differences"]}
    differences, known_seen = [], []
    for row in table["rows"]:
        got, expected = run_row(table, row), expected_answer(row)
        line = f"{row['name']!r} [{ADAPTER}]\n    got      {got}\n    expected {expected}"
        reason = known.get((row["name"], ADAPTER))
        if reason is None and got != expected:
            differences.append(line)
        elif reason is not None and got == expected:
            fixed = f"agrees now: remove it from known_differences ({reason})"
            differences.append(f"{line}\n    {fixed}")
        elif reason is not None:
            known_seen.append(f"{line}\n    known: {reason}")
    rows = len(table["rows"])
    print(f"{ADAPTER}: {rows} rows run, 0 skipped, {len(known_seen)} known differences")
    print("\n".join(known_seen))
    if differences:
        pytest.fail(
            f"{len(differences)} of {rows} rows differ for {ADAPTER}:\n"
            + "\n".join(differences),
            pytrace=False,
        )
