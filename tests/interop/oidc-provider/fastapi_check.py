"""Run by tests/interop_dpop.rs with the Python venv python/ci.sh builds: a FastAPI app using
jwks_auth.fastapi, verifying a DPoP-bound token that oidc-provider issued, with proofs made
by panva's `dpop` package. Reads JSON from stdin (issuer, audience, origin, token, proofs)
and prints the status and body of each request as JSON: never the token."""

import json
import sys

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from jwks_auth import AuthUser, Provider, Verifier
from jwks_auth.fastapi import AuthMiddleware, configure, current_user

given = json.load(sys.stdin)
verifier = Verifier(Provider.oidc(given["issuer"]), audience=given["audience"], dpop="allowed")
app = FastAPI()
configure(app, verifier, external_origin=given["origin"])
app.add_middleware(AuthMiddleware, prefix="/")


@app.get("/notes")
async def notes(user: AuthUser = Depends(current_user)):
    return {"sub": user.id}


answers = []
with TestClient(app) as client:
    for proof in given["proofs"]:
        headers = {"Authorization": f"DPoP {given['token']}"}
        if proof is not None:
            headers["DPoP"] = proof
        response = client.get("/notes", headers=headers)
        answers.append({"status": response.status_code, "body": response.json()})
print(json.dumps(answers))
