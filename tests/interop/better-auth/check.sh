#!/usr/bin/env bash
# Smoke test for server.mjs: for every algorithm, start the server, sign up,
# fetch a JWT + the JWKS, verify the signature independently (node:crypto, not
# better-auth/jose), print alg/kid/sub, stop the server. Also checks key
# rotation and shutdown on stdin close. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

[ -d node_modules ] || npm ci --silent

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$WORK/err" ] && sed 's/^/  server: /' "$WORK/err" >&2; exit 1; }

# start_server ENV...: starts server.mjs with stdin on a fifo held open by fd 3
# (like a parent test process holding the child's stdin pipe); sets BASE.
start_server() {
  rm -f "$WORK/in" "$WORK/out" "$WORK/err"
  mkfifo "$WORK/in"
  env "$@" node server.mjs <"$WORK/in" >"$WORK/out" 2>"$WORK/err" &
  SERVER_PID=$!
  exec 3>"$WORK/in"
  for _ in $(seq 100); do
    grep -q '^listening ' "$WORK/out" 2>/dev/null && break
    sleep 0.1
  done
  [ "$(wc -l <"$WORK/out")" -eq 1 ] || fail "expected exactly one stdout line, got: $(cat "$WORK/out")"
  BASE=$(sed -n 's/^listening //p' "$WORK/out")
  [[ "$BASE" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "bad listening line: $(cat "$WORK/out")"
}

# wait_gone: the server must exit by itself within 5s (after SIGTERM / stdin close).
wait_gone() {
  for _ in $(seq 50); do
    kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" || fail "server exit status $?"; SERVER_PID=""; return; }
    sleep 0.1
  done
  fail "server $SERVER_PID did not exit"
}

signup() { # -> prints session token
  curl -fsS -X POST "$BASE/api/auth/sign-up/email" -H 'content-type: application/json' \
    -d "{\"email\":\"$1@example.com\",\"password\":\"password1234\",\"name\":\"$1\"}" >"$WORK/signup.json" \
    || fail "sign-up"
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));if(!r.token||!r.user?.id)process.exit(1);console.log(r.token)' "$WORK/signup.json" \
    || fail "sign-up response: $(cat "$WORK/signup.json")"
}

get_jwt() { # session token -> prints JWT
  curl -fsS "$BASE/api/auth/token" -H "authorization: Bearer $1" \
    | node -pe 'JSON.parse(require("fs").readFileSync(0)).token' || fail "GET /token"
}

# verify JWT JWKS_FILE EXPECTED_ALG SIGNUP_JSON: checks signature + claims,
# prints "alg=.. kid=.. sub=.. ttl=..".
verify() {
  node - "$@" "$BASE" <<'EOF' || fail "verification"
const crypto = require("node:crypto"), fs = require("node:fs");
const [jwt, jwksFile, expAlg, signupFile, base] = process.argv.slice(2);
const [h, p, s] = jwt.split(".");
const header = JSON.parse(Buffer.from(h, "base64url"));
const claims = JSON.parse(Buffer.from(p, "base64url"));
const jwks = JSON.parse(fs.readFileSync(jwksFile));
const user = JSON.parse(fs.readFileSync(signupFile)).user;
const die = (m) => { console.error(m, JSON.stringify({ header, claims, jwks })); process.exit(1); };
if (header.alg !== expAlg) die(`header alg ${header.alg} != ${expAlg}`);
const jwk = jwks.keys.find((k) => k.kid === header.kid);
if (!jwk) die(`kid ${header.kid} not in JWKS`);
if (jwk.alg !== expAlg) die(`JWKS alg ${jwk.alg} != ${expAlg}`);
const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
const data = Buffer.from(`${h}.${p}`), sig = Buffer.from(s, "base64url");
const ok = {
  EdDSA: () => crypto.verify(null, data, key, sig),
  ES256: () => crypto.verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig),
  ES512: () => crypto.verify("sha512", data, { key, dsaEncoding: "ieee-p1363" }, sig),
  RS256: () => crypto.verify("sha256", data, key, sig),
  PS256: () => crypto.verify("sha256", data,
    { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig),
}[expAlg]();
if (!ok) die("bad signature");
if (claims.iss !== base || claims.aud !== base) die("iss/aud != base URL");
if (claims.sub !== user.id || claims.id !== user.id || claims.email !== user.email) die("sub/id/email mismatch");
console.log(`alg=${header.alg} kid=${header.kid} sub=${claims.sub} ttl=${claims.exp - claims.iat}s jwks_keys=${jwks.keys.length}`);
EOF
}

for alg in EdDSA ES256 RS256 PS256 ES512; do
  start_server JWT_ALG="$alg"
  tok=$(signup "user-$alg")
  jwt=$(get_jwt "$tok")
  curl -fsS "$BASE/api/auth/jwks" >"$WORK/jwks.json" || fail "GET /jwks"
  printf '%-6s %s\n' "$alg" "$(verify "$jwt" "$WORK/jwks.json" "$alg" "$WORK/signup.json")"
  kill -TERM "$SERVER_PID"
  wait_gone
done

# Rotation: keys expire after ROTATION_INTERVAL s; the next signing mints a new
# kid and the old key stays in the JWKS for GRACE_PERIOD s.
start_server JWT_ALG=EdDSA ROTATION_INTERVAL=2 GRACE_PERIOD=60
tok=$(signup rotation)
jwt1=$(get_jwt "$tok")
sleep 2.5
jwt2=$(get_jwt "$tok")
curl -fsS "$BASE/api/auth/jwks" >"$WORK/jwks.json" || fail "GET /jwks"
v1=$(verify "$jwt1" "$WORK/jwks.json" EdDSA "$WORK/signup.json")
v2=$(verify "$jwt2" "$WORK/jwks.json" EdDSA "$WORK/signup.json")
kid1=${v1#*kid=}; kid1=${kid1%% *}
kid2=${v2#*kid=}; kid2=${kid2%% *}
[ "$kid1" != "$kid2" ] || fail "no rotation: kid $kid1 reused after ROTATION_INTERVAL"
echo "rotate old $v1"
echo "rotate new $v2"
# Shutdown via stdin close (parent died) instead of SIGTERM.
exec 3>&-
wait_gone

echo "OK: all algorithms, rotation and shutdown checks passed"
