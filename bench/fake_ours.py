"""STAND-IN for `cargo run --release --quiet --example bench_compare -- <outdir>`,
used only to test compare.sh before the Rust side exists:

    OURS_CMD="python bench/fake_ours.py" bench/compare.sh

Same interface as the real example:
  * writes <outdir>/tokens.json: [{"alg", "token", "jwk": public JWK, "secret" (HS only)}, ...]
    signed here with PyJWT from fixtures/keys; claims iss "https://bench.example",
    aud "jwks-auth-bench", iat now, exp far in the future (2100);
  * prints ONE JSON object on stdout: {"floor": {alg: us}, "jwks_auth": {alg: us}}.
The floor/jwks_auth numbers are MADE UP (it says so in "note"); only the
tokens are real.
"""

import json
import pathlib
import sys
import time

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

KEYS = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "keys"
CASES = [  # alg, key name, fake floor us, fake jwks_auth us
    ("EdDSA", "ed25519-a", 40.0, 42.0),
    ("ES256", "ec-p256-a", 55.0, 58.0),
    ("ES384", "ec-p384-a", 350.0, 355.0),
    ("RS256", "rsa-2048-a", 25.0, 27.0),
    ("PS256", "rsa-2048-a", 26.0, 28.0),
    ("HS256", "hs-secret", 0.8, 1.5),
]


def main() -> int:
    outdir = pathlib.Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    secret = (KEYS / "hs-secret.txt").read_text().strip()
    claims = {"iss": "https://bench.example", "aud": "jwks-auth-bench", "sub": "bench",
              "iat": int(time.time()), "exp": 4_102_444_800}
    tokens = []
    for alg, name, _, _ in CASES:
        if alg.startswith("HS"):
            token = jwt.encode(claims, secret.encode(), algorithm=alg, headers={"kid": name})
            tokens.append({"alg": alg, "token": token, "secret": secret})
        else:
            key = load_pem_private_key((KEYS / f"{name}.pem").read_bytes(), password=None)
            token = jwt.encode(claims, key, algorithm=alg, headers={"kid": name})
            jwk = json.loads((KEYS / f"{name}.jwk.json").read_text())
            tokens.append({"alg": alg, "token": token, "jwk": jwk})
    (outdir / "tokens.json").write_text(json.dumps(tokens, indent=2) + "\n")
    print(json.dumps({
        "note": "FAKE floor/jwks_auth numbers from bench/fake_ours.py",
        "floor": {alg: f for alg, _, f, _ in CASES},
        "jwks_auth": {alg: j for alg, _, _, j in CASES},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
