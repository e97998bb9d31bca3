"""Sanity check for fixtures/interop/tokens.json: every token must verify with
PyJWT against the PUBLIC key material (NAME.jwk.json / hs-secret.txt), with the
expected header and claims. Catches a generator that silently produced junk.

Usage: python check_tokens.py <tokens.json> <keys-dir>
"""

import json
import pathlib
import sys

import jwt


def main() -> int:
    tokens = json.loads(pathlib.Path(sys.argv[1]).read_text())
    keys_dir = pathlib.Path(sys.argv[2])
    secret = (keys_dir / "hs-secret.txt").read_text().strip().encode("ascii")
    for t in tokens:
        lib, alg, kid, token = t["lib"], t["alg"], t["kid"], t["token"]
        header = jwt.get_unverified_header(token)
        assert header == {"alg": alg, "typ": "JWT", "kid": kid}, (lib, alg, header)
        if alg.startswith("HS"):
            key = secret
        else:
            key = jwt.PyJWK(json.loads((keys_dir / f"{kid}.jwk.json").read_text()), algorithm=alg)
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience="jwks-auth-interop",
            issuer="https://interop.example",
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
        )
        want = {
            "iss": "https://interop.example",
            "aud": "jwks-auth-interop",
            "sub": f"user_{lib}_{alg}",
            "email": f"{lib}@example.com",
            "iat": 1_700_000_000,
            "nbf": 1_700_000_000,
            "exp": 4_102_444_800,
        }
        assert claims == want, (lib, alg, claims)
    print(f"check_tokens: {len(tokens)} tokens verified with PyJWT against public keys", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
