"""Signs one interop token per JWS algorithm with PyJWT (versions pinned in
requirements.txt) using the test keys in fixtures/keys.

Usage: python gen_pyjwt.py <keys-dir>
Prints a JSON array on stdout: [{lib, alg, kid, token} | {lib, alg, kid, skipped}, ...]
"""

import json
import pathlib
import sys

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

LIB = "pyjwt"

# Order is the fixture order; gen_jose.mjs uses the same list.
CASES = [
    ("EdDSA", "ed25519-a"),
    ("ES256", "ec-p256-a"),
    ("ES384", "ec-p384-a"),
    ("ES512", "ec-p521-a"),
    ("RS256", "rsa-2048-a"),
    ("RS384", "rsa-2048-a"),
    ("RS512", "rsa-2048-a"),
    ("PS256", "rsa-2048-a"),
    ("PS384", "rsa-2048-a"),
    ("PS512", "rsa-2048-a"),
    ("HS256", "hs-secret"),
    ("HS384", "hs-secret"),
    ("HS512", "hs-secret"),
]


def signing_key(keys_dir: pathlib.Path, alg: str, kid: str):
    if alg.startswith("HS"):
        # The file's base64url text is used as-is: its ASCII bytes are the secret.
        return (keys_dir / "hs-secret.txt").read_text().strip().encode("ascii")
    return load_pem_private_key((keys_dir / f"{kid}.pem").read_bytes(), password=None)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python gen_pyjwt.py <keys-dir>", file=sys.stderr)
        return 2
    keys_dir = pathlib.Path(sys.argv[1])
    out = []
    for alg, kid in CASES:
        claims = {
            "iss": "https://interop.example",
            "aud": "jwks-auth-interop",
            "sub": f"user_{LIB}_{alg}",
            "email": f"{LIB}@example.com",
            "iat": 1_700_000_000,
            "nbf": 1_700_000_000,
            "exp": 4_102_444_800,
        }
        try:
            key = signing_key(keys_dir, alg, kid)
            token = jwt.encode(claims, key, algorithm=alg, headers={"typ": "JWT", "kid": kid})
            out.append({"lib": LIB, "alg": alg, "kid": kid, "token": token})
        except Exception as e:  # noqa: BLE001 - recorded, never faked
            out.append({"lib": LIB, "alg": alg, "kid": kid, "skipped": f"{type(e).__name__}: {e}"})
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
