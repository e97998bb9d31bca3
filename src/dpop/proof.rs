//! The proof checker: one DPoP proof JWT against the request it came with (RFC 9449 §4.3,
//! §7.1).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::{Number, Value};

use super::nonce::NonceIssuer;
use super::replay::{InMemoryReplayStore, ReplayStore};
use super::thumbprint::{sha256_b64, thumbprint_of};
use super::{htu, DpopError};
use crate::algorithm::{Algorithm, KeyFamily};
use crate::clock::{Clock, SystemClock};
use crate::jws;
use crate::keys::jwk::VerifyingKey;

/// Longest proof accepted, in bytes (an RSA-4096 `jwk` header fits with room to spare).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted, in bytes.
pub const MAX_JTI_BYTES: usize = 256;
const MAX_HEADER_BYTES: usize = 4 * 1024;
const MAX_PAYLOAD_BYTES: usize = 4 * 1024;
const MAX_IAT_WINDOW: Duration = Duration::from_secs(3600);
/// Parsed proof keys kept by thumbprint: a client signs every proof with one key, so a
/// repeat caller skips decoding and validating its key (about a third of a proof check's
/// work beyond the signature).
const PROOF_KEY_CACHE_CAPACITY: u64 = 10_000;
const PROOF_KEY_IDLE: Duration = Duration::from_secs(15 * 60);

/// The proof algorithms accepted by default.
pub const DEFAULT_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// The request a proof must match: method, URL, and the access token presented with it.
///
/// ```
/// use jwks_auth::dpop::DpopRequest;
/// let request = DpopRequest::new("GET", "https://api.example.com/notes?page=2")
///     .access_token("eyJ...")
///     .cnf_jkt("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
/// # let _ = request;
/// ```
#[derive(Clone, Copy)]
pub struct DpopRequest<'a> {
    method: &'a str,
    url: &'a str,
    access_token: Option<&'a str>,
    cnf_jkt: Option<&'a str>,
    client_certificate: Option<&'a [u8]>,
}

impl fmt::Debug for DpopRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL's query and the token stay out of logs.
        f.debug_struct("DpopRequest")
            .field("method", &self.method)
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .field("cnf_jkt", &self.cnf_jkt)
            .field(
                "client_certificate",
                &self.client_certificate.map(|_| "<present>"),
            )
            .finish_non_exhaustive()
    }
}

impl<'a> DpopRequest<'a> {
    /// A request by `method` (compared exactly with `htm`) to the absolute `url` the client
    /// used (behind a proxy: the external URL, not the one the server sees).
    pub fn new(method: &'a str, url: &'a str) -> Self {
        DpopRequest {
            method,
            url,
            access_token: None,
            cnf_jkt: None,
            client_certificate: None,
        }
    }

    /// The access token presented with the proof: `ath` must then be its hash, and the
    /// token must be bound to the proof key ([`cnf_jkt`](Self::cnf_jkt)). Default: none (a
    /// proof sent to a token endpoint).
    #[must_use]
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// The DER client certificate of the mutual-TLS connection the request came over, for
    /// tokens that are also certificate-bound (`cnf["x5t#S256"]`, RFC 8705). Read by
    /// [`Verifier::verify_dpop`](crate::Verifier::verify_dpop). Default: none.
    #[must_use]
    pub fn client_certificate(mut self, cert_der: &'a [u8]) -> Self {
        self.client_certificate = Some(cert_der);
        self
    }

    /// The client certificate set with [`client_certificate`](Self::client_certificate).
    pub fn certificate(&self) -> Option<&'a [u8]> {
        self.client_certificate
    }

    /// The access token's `cnf.jkt`, which must equal the proof key's thumbprint. Default:
    /// none, which refuses any request with an access token (a token that is not DPoP-bound
    /// cannot be used with a proof, RFC 9449 §7.1).
    #[must_use]
    pub fn cnf_jkt(mut self, jkt: &'a str) -> Self {
        self.cnf_jkt = Some(jkt);
        self
    }
}

/// An accepted proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    jkt: String,
    jti: String,
    iat: i64,
    algorithm: Algorithm,
}

impl VerifiedProof {
    /// The RFC 7638 thumbprint of the proof key.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The proof's `iat`, in whole seconds since the Unix epoch.
    pub fn iat(&self) -> i64 {
        self.iat
    }

    /// The algorithm that signed it (`EdDSA` also for proofs labelled `Ed25519`).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// Configures a [`DpopChecker`]. Start from [`DpopChecker::builder`].
#[must_use]
pub struct DpopCheckerBuilder {
    algorithms: Vec<Algorithm>,
    iat_window: Duration,
    store: Option<Arc<dyn ReplayStore>>,
    store_capacity: u64,
    nonces: Option<NonceIssuer>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DpopCheckerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopCheckerBuilder")
            .field("algorithms", &self.algorithms)
            .field("iat_window", &self.iat_window)
            .field("store", &self.store)
            .field("nonces", &self.nonces)
            .finish_non_exhaustive()
    }
}

impl DpopCheckerBuilder {
    /// The proof algorithms accepted; asymmetric only. An allowed `EdDSA` also accepts
    /// proofs labelled with its fully-specified name `Ed25519` (RFC 9864), as panva's `dpop`
    /// 2.x writes them. Default: [`DEFAULT_ALGORITHMS`] (ES256, ES384, ES512, EdDSA, RS256,
    /// PS256).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How far `iat` may lie from now, either way (1 s to 1 h); replayed proofs are
    /// remembered this long after their `iat`. Default: 60 seconds.
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.iat_window = window;
        self
    }

    /// Where proof ids are remembered. Default: an [`InMemoryReplayStore`] of
    /// [`InMemoryReplayStore::DEFAULT_CAPACITY`] entries on the checker's clock.
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where proof ids are remembered, shared with others (e.g. every verifier of a
    /// process).
    pub fn shared_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Capacity of the default in-memory replay store. Default: 100 000.
    pub fn replay_capacity(mut self, capacity: u64) -> Self {
        self.store_capacity = capacity;
        self
    }

    /// Require server nonces from `issuer` (RFC 9449 §8, §9): a proof without `nonce`, or
    /// with one that is neither the current nor the previous nonce, is refused with
    /// [`DpopError::UseNonce`]. Default: off.
    pub fn nonces(mut self, issuer: NonceIssuer) -> Self {
        self.nonces = Some(issuer);
        self
    }

    /// The time source for `iat`, nonces and the default replay store. Default: the system
    /// clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub(crate) fn clock_arc(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The checker.
    ///
    /// # Errors
    /// [`DpopError::Config`] for no algorithm, a symmetric algorithm, an iat window outside
    /// 1 s ..= 1 h, or a replay capacity of 0.
    pub fn build(self) -> Result<DpopChecker, DpopError> {
        if self.algorithms.is_empty() {
            return Err(DpopError::Config("no proof algorithm allowed"));
        }
        if self.algorithms.iter().any(|alg| alg.is_symmetric()) {
            return Err(DpopError::Config("proof algorithms must be asymmetric"));
        }
        if self.iat_window < Duration::from_secs(1) || self.iat_window > MAX_IAT_WINDOW {
            return Err(DpopError::Config(
                "iat window must be between 1 second and 1 hour",
            ));
        }
        let store = match self.store {
            Some(store) => store,
            None if self.store_capacity == 0 => {
                return Err(DpopError::Config("replay store capacity must be positive"))
            }
            None => Arc::new(InMemoryReplayStore::with_clock(
                self.store_capacity,
                self.clock.clone(),
            )),
        };
        let mut algorithms = self.algorithms;
        algorithms.dedup();
        Ok(DpopChecker {
            inner: Arc::new(Inner {
                algorithms,
                iat_window: self.iat_window.as_secs() as i64,
                store,
                nonces: self.nonces,
                clock: self.clock,
                keys: moka::sync::Cache::builder()
                    .max_capacity(PROOF_KEY_CACHE_CAPACITY)
                    .time_to_idle(PROOF_KEY_IDLE)
                    .build(),
            }),
        })
    }
}

/// Checks DPoP proofs (RFC 9449). Cheap to clone; clones share the replay store.
///
/// # Examples
///
/// ```
/// use jwks_auth::dpop::{DpopChecker, DpopError, DpopRequest};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), DpopError> {
/// let checker = DpopChecker::builder().build()?;
/// // A request without a proof.
/// let request = DpopRequest::new("GET", "https://api.example.com/notes");
/// let err = checker.check(&[], &request).await.unwrap_err();
/// assert!(matches!(err, DpopError::MissingProof));
/// # Ok(()) }
/// ```
///
/// See the [module docs](super) for a full round trip with the testing kit.
#[derive(Clone)]
pub struct DpopChecker {
    inner: Arc<Inner>,
}

struct Inner {
    algorithms: Vec<Algorithm>,
    iat_window: i64,
    store: Arc<dyn ReplayStore>,
    nonces: Option<NonceIssuer>,
    clock: Arc<dyn Clock>,
    /// Proof keys that verified a proof, by RFC 7638 thumbprint. The thumbprint covers
    /// exactly the members the key is parsed from, so a hit is the same key.
    keys: moka::sync::Cache<Box<str>, Arc<VerifyingKey>>,
}

impl fmt::Debug for DpopChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopChecker")
            .field("algorithms", &self.inner.algorithms)
            .field("iat_window", &self.inner.iat_window)
            .field("store", &self.inner.store)
            .field("nonces", &self.inner.nonces)
            .finish_non_exhaustive()
    }
}

/// The proof's JOSE header, with only what is read. `jku`, `x5u`, `x5c` and `kid` are never
/// used: the key is the embedded `jwk`, and nothing is fetched.
#[derive(Deserialize)]
struct ProofHeader<'a> {
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    jwk: Option<ProofJwk<'a>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// The proof's `jwk`: the public members a key is parsed from (and its RFC 7638 thumbprint
/// computed from), and whether any member only a private or symmetric key has is present
/// (RFC 7518 §6.2.2, §6.3.2, §6.4). Other members (`alg`, `use`, `kid`, ...) are ignored,
/// so they can neither narrow nor widen the key.
#[derive(Deserialize)]
struct ProofJwk<'a> {
    #[serde(default, borrow)]
    kty: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    crv: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    x: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    y: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    n: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    e: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    d: bool,
    #[serde(default, deserialize_with = "present")]
    p: bool,
    #[serde(default, deserialize_with = "present")]
    q: bool,
    #[serde(default, deserialize_with = "present")]
    dp: bool,
    #[serde(default, deserialize_with = "present")]
    dq: bool,
    #[serde(default, deserialize_with = "present")]
    qi: bool,
    #[serde(default, deserialize_with = "present")]
    oth: bool,
    #[serde(default, deserialize_with = "present")]
    k: bool,
}

impl ProofJwk<'_> {
    fn has_private_members(&self) -> bool {
        self.d || self.p || self.q || self.dp || self.dq || self.qi || self.oth || self.k
    }

    fn member(&self, name: &str) -> Option<&str> {
        let value = match name {
            "kty" => &self.kty,
            "crv" => &self.crv,
            "x" => &self.x,
            "y" => &self.y,
            "n" => &self.n,
            "e" => &self.e,
            _ => return None,
        };
        value.as_deref()
    }

    /// The key family `kty` and `crv` claim.
    fn family(&self) -> Option<KeyFamily> {
        match (self.kty.as_deref()?, self.crv.as_deref()) {
            ("RSA", _) => Some(KeyFamily::Rsa),
            ("EC", Some("P-256")) => Some(KeyFamily::P256),
            ("EC", Some("P-384")) => Some(KeyFamily::P384),
            ("EC", Some("P-521")) => Some(KeyFamily::P521),
            ("OKP", Some("Ed25519")) => Some(KeyFamily::Ed25519),
            _ => None,
        }
    }

    /// The key, through the crate's JWK parser (which refuses RSA keys under 2048 bits and
    /// points off the curve), from the public members only.
    fn parse(&self, algorithms: &[Algorithm]) -> Result<VerifyingKey, DpopError> {
        let mut public = serde_json::Map::new();
        for name in ["kty", "crv", "x", "y", "n", "e"] {
            if let Some(value) = self.member(name) {
                public.insert(name.into(), Value::from(value));
            }
        }
        crate::keys::jwk::parse_jwk(Value::Object(public), algorithms)
            .map_err(|_| invalid("proof jwk is not a usable public key"))
    }
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

#[derive(Deserialize)]
struct ProofClaims {
    #[serde(default)]
    htm: Option<String>,
    #[serde(default)]
    htu: Option<String>,
    #[serde(default)]
    iat: Option<Number>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

fn invalid(reason: &'static str) -> DpopError {
    DpopError::InvalidProof(reason)
}

/// The one proof among the `DPoP` header values. Proxies join repeated headers with
/// commas, and a compact JWS never contains one, so a comma means two proofs.
fn single_proof<'p>(values: &[&'p str]) -> Result<&'p str, DpopError> {
    match values {
        [] => Err(DpopError::MissingProof),
        [value] => {
            let proof = value.trim_matches([' ', '\t']);
            if proof.is_empty() {
                Err(invalid("empty dpop proof"))
            } else if proof.contains(',') {
                Err(invalid("more than one dpop proof"))
            } else {
                Ok(proof)
            }
        }
        _ => Err(invalid("more than one dpop proof")),
    }
}

/// Decodes base64url into at most `max` bytes of a JSON object.
fn decode_object(text: &str, max: usize, not_object: &'static str) -> Result<Vec<u8>, DpopError> {
    if base64::decoded_len_estimate(text.len()) > max {
        return Err(invalid("proof too large"));
    }
    let bytes = jws::decode_bytes(text).ok_or(invalid(not_object))?;
    // serde would also read a struct from a JSON array.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(invalid(not_object));
    }
    Ok(bytes)
}

impl DpopChecker {
    /// A builder with the defaults: algorithms ES256, ES384, ES512, EdDSA, RS256, PS256;
    /// iat window ±60 s; in-memory replay store of 100 000 entries; no nonces; system clock.
    pub fn builder() -> DpopCheckerBuilder {
        DpopCheckerBuilder {
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            iat_window: Duration::from_secs(60),
            store: None,
            store_capacity: InMemoryReplayStore::DEFAULT_CAPACITY,
            nonces: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The accepted proof algorithms (for `WWW-Authenticate: DPoP algs="..."`).
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.inner.algorithms
    }

    /// The nonce to send in a `DPoP-Nonce` header now, when nonces are on.
    pub fn current_nonce(&self) -> Option<String> {
        let nonces = self.inner.nonces.as_ref()?;
        Some(nonces.nonce_at(self.inner.clock.now()))
    }

    /// Checks the proof among `proof_headers` (every `DPoP` header value of the request)
    /// against `request`, in the order of RFC 9449 §4.3: exactly one proof; a compact JWS
    /// of at most [`MAX_PROOF_BYTES`]; `typ` `dpop+jwt`; `alg` allowed; `jwk` a public key
    /// of `alg`'s type; no `crit`; the signature; `htm`; `htu`; the nonce (when on); `iat`
    /// within the window; `jti` of 1 ..= [`MAX_JTI_BYTES`] bytes; `ath` and `cnf.jkt` when
    /// the request carries an access token; and last, the replay store, so only otherwise
    /// valid proofs are remembered.
    ///
    /// `typ` is compared as a media type (RFC 7515 §4.1.9): ASCII case-insensitively, with
    /// or without the `application/` prefix.
    ///
    /// # Errors
    /// [`DpopError::MissingProof`], [`DpopError::InvalidProof`] naming the failing check,
    /// [`DpopError::UseNonce`], [`DpopError::BindingMismatch`], [`DpopError::Replayed`],
    /// [`DpopError::StoreUnavailable`], or [`DpopError::InvalidRequest`] when the request
    /// URL is not an absolute `http(s)` URL. No message contains the proof or the token.
    pub async fn check(
        &self,
        proof_headers: &[&str],
        request: &DpopRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        let inner = &*self.inner;
        let request_htu = htu::normalize(request.url).ok_or(DpopError::InvalidRequest(
            "request url is not an absolute http(s) url",
        ))?;
        let proof = single_proof(proof_headers)?;
        if proof.len() > MAX_PROOF_BYTES {
            return Err(invalid("proof too large"));
        }
        // The shared compact-JWS split (size-bounded, exactly three parts).
        let parts = jws::split(proof).map_err(|_| invalid("proof is not a compact jws"))?;
        let (header_b64, payload_b64, signature_b64) =
            (parts.header, parts.payload, parts.signature);

        // Header: typ, alg, jwk, crit.
        let header_json = decode_object(
            header_b64,
            MAX_HEADER_BYTES,
            "proof header is not a json object",
        )?;
        let header: ProofHeader = serde_json::from_slice(&header_json)
            .map_err(|_| invalid("proof header is not a valid jose header"))?;
        let typ = header.typ.as_deref().ok_or(invalid("proof has no typ"))?;
        let typ = typ
            .get(..12)
            .filter(|prefix| prefix.eq_ignore_ascii_case("application/"))
            .map_or(typ, |_| &typ[12..]);
        if !typ.eq_ignore_ascii_case("dpop+jwt") {
            return Err(invalid("proof typ is not dpop+jwt"));
        }
        if header.crit {
            return Err(invalid("unsupported critical header parameter"));
        }
        let alg = match &*header.alg {
            // RFC 9864's fully-specified name for EdDSA over Ed25519.
            "Ed25519" => Algorithm::EdDSA,
            name => name
                .parse::<Algorithm>()
                .map_err(|_| invalid("unsupported proof algorithm"))?,
        };
        if alg.is_symmetric() {
            return Err(invalid("proof algorithm is symmetric"));
        }
        if !inner.algorithms.contains(&alg) {
            return Err(invalid("proof algorithm not allowed"));
        }
        let jwk = header.jwk.as_ref().ok_or(invalid("proof has no jwk"))?;
        if jwk.has_private_members() {
            return Err(invalid("proof jwk contains private key members"));
        }
        if jwk.family() != Some(alg.key_family()) {
            return Err(invalid("proof jwk does not fit alg"));
        }
        let jkt = thumbprint_of(jwk.kty.as_deref(), |name| jwk.member(name))?;

        // Signature.
        let mut signature_buf = jws::Buf::new();
        let signature = jws::decode_signature(signature_b64, &mut signature_buf)
            .map_err(|_| invalid("proof signature is not base64url"))?;
        let signed = parts.signing_input;
        let cached = inner.keys.get(jkt.as_str());
        let key = match &cached {
            Some(key) => key,
            None => &Arc::new(jwk.parse(&inner.algorithms)?),
        };
        key.verify(alg, signed, signature)
            .map_err(|_| invalid("proof signature does not verify"))?;
        if cached.is_none() {
            inner.keys.insert(jkt.as_str().into(), Arc::clone(key));
        }

        // Claims.
        let payload_json = decode_object(
            payload_b64,
            MAX_PAYLOAD_BYTES,
            "proof payload is not a json object",
        )?;
        let claims: ProofClaims = serde_json::from_slice(&payload_json)
            .map_err(|_| invalid("proof claims are not valid"))?;
        let htm = claims.htm.as_deref().ok_or(invalid("proof has no htm"))?;
        if htm != request.method {
            return Err(invalid("htm does not match the request method"));
        }
        let proof_htu = claims.htu.as_deref().ok_or(invalid("proof has no htu"))?;
        // The same text normalises to the same URL: parse the proof's only when it differs.
        if proof_htu != request.url
            && htu::normalize(proof_htu).as_deref() != Some(request_htu.as_str())
        {
            return Err(invalid("htu does not match the request url"));
        }
        let now = inner.clock.now();
        if let Some(nonces) = &inner.nonces {
            let nonce = claims
                .nonce
                .as_deref()
                .ok_or(DpopError::UseNonce("dpop nonce required"))?;
            if !nonces.accepts_at(nonce, now) {
                return Err(DpopError::UseNonce("dpop nonce is stale or unknown"));
            }
        }
        let iat = claims.iat.as_ref().ok_or(invalid("proof has no iat"))?;
        let iat = match (iat.as_i64(), iat.as_f64()) {
            (Some(secs), _) => secs,
            (None, Some(secs)) if secs.is_finite() => secs.floor() as i64,
            _ => return Err(invalid("proof iat is not a number")),
        };
        let now_secs = now.as_secs() as i64;
        let window = inner.iat_window;
        if iat < now_secs.saturating_sub(window) {
            return Err(invalid("proof iat is too old"));
        }
        if iat > now_secs.saturating_add(window) {
            return Err(invalid("proof iat is in the future"));
        }
        let jti = claims.jti.ok_or(invalid("proof has no jti"))?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(invalid("proof jti is empty or too long"));
        }
        if let Some(token) = request.access_token {
            let ath = claims.ath.as_deref().ok_or(invalid("proof has no ath"))?;
            if ath != sha256_b64(token.as_bytes()) {
                return Err(invalid("ath does not match the access token"));
            }
            if request.cnf_jkt.is_none() {
                return Err(DpopError::BindingMismatch("access token is not dpop-bound"));
            }
        }
        if let Some(expected) = request.cnf_jkt {
            if expected != jkt {
                return Err(DpopError::BindingMismatch(
                    "proof key does not match cnf jkt",
                ));
            }
        }

        // Replay: last, so only proofs that passed everything else are remembered.
        let mut id_input = Vec::with_capacity(jkt.len() + 1 + jti.len());
        id_input.extend_from_slice(jkt.as_bytes());
        id_input.push(0);
        id_input.extend_from_slice(jti.as_bytes());
        let id = sha256_b64(&id_input);
        // The proof passes while the clock's whole second is at most `iat + window`, i.e.
        // until the instant `iat + window + 1`: the entry must outlive every such instant, or
        // the proof replays in the last second of its window.
        let until = Duration::from_secs(iat.saturating_add(window).saturating_add(1).max(0) as u64);
        match inner.store.check_and_remember(&id, until).await {
            Ok(true) => Ok(VerifiedProof {
                jkt,
                jti,
                iat,
                algorithm: alg,
            }),
            Ok(false) => Err(DpopError::Replayed),
            Err(error) => Err(DpopError::StoreUnavailable(error)),
        }
    }
}

// Needs the testing kit's keys and proofs. `cfg(test)` stands on its own line so that
// tools/circles.py reads this module as tests, not as a `dpop -> testing` import.
#[cfg(feature = "testing")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::dpop::replay::StoreFuture;
    use crate::dpop::StoreError;
    use crate::testing::{DpopProof, TestKey};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const URL: &str = "https://api.example.test/notes";
    const TOKEN: &str = "the.access.token";

    fn key() -> TestKey {
        TestKey::fixture(KeyFamily::P256, 0).unwrap()
    }

    fn clock() -> ManualClock {
        ManualClock::at_unix(NOW as u64)
    }

    fn checker() -> DpopChecker {
        DpopChecker::builder().clock(clock()).build().unwrap()
    }

    fn proof() -> DpopProof {
        DpopProof::new(&key()).url(URL).token(TOKEN).iat(NOW)
    }

    fn check_with(checker: &DpopChecker, proof: &str) -> Result<VerifiedProof, DpopError> {
        let jkt = key().jkt();
        let request = DpopRequest::new("GET", URL)
            .access_token(TOKEN)
            .cnf_jkt(&jkt);
        block_on(checker.check(&[proof], &request))
    }

    fn check(proof: &str) -> Result<VerifiedProof, DpopError> {
        check_with(&checker(), proof)
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn reason(result: Result<VerifiedProof, DpopError>) -> &'static str {
        match result {
            Err(DpopError::InvalidProof(reason)) => reason,
            other => panic!("expected an invalid proof, got {other:?}"),
        }
    }

    #[test]
    fn checker_and_its_future_are_send_and_sync() {
        fn send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let checker = checker();
        send_sync(&checker);
        let request = DpopRequest::new("GET", URL);
        send(&checker.check(&[], &request));
    }

    #[test]
    fn a_valid_proof_is_accepted() {
        let verified = check(&proof().sign()).unwrap();
        assert_eq!(verified.jkt(), key().jkt());
        assert_eq!(verified.iat(), NOW);
        assert_eq!(verified.algorithm(), Algorithm::ES256);
    }

    #[test]
    fn every_default_algorithm_is_accepted() {
        for (family, alg) in [
            (KeyFamily::P256, Algorithm::ES256),
            (KeyFamily::P384, Algorithm::ES384),
            (KeyFamily::P521, Algorithm::ES512),
            (KeyFamily::Ed25519, Algorithm::EdDSA),
            (KeyFamily::Rsa, Algorithm::RS256),
            (KeyFamily::Rsa, Algorithm::PS256),
        ] {
            let key = TestKey::fixture(family, 0).unwrap();
            let proof = DpopProof::new(&key).alg(alg).url(URL).iat(NOW).sign();
            let request = DpopRequest::new("GET", URL);
            let verified = block_on(checker().check(&[&proof], &request)).unwrap();
            assert_eq!(verified.algorithm(), alg);
        }
    }

    #[test]
    fn ed25519_alg_name_is_accepted_as_eddsa() {
        let key = TestKey::fixture(KeyFamily::Ed25519, 0).unwrap();
        let proof = DpopProof::new(&key)
            .alg_label("Ed25519")
            .url(URL)
            .iat(NOW)
            .sign();
        let request = DpopRequest::new("GET", URL);
        let verified = block_on(checker().check(&[&proof], &request)).unwrap();
        assert_eq!(verified.algorithm(), Algorithm::EdDSA);
    }

    #[test]
    fn a_replayed_proof_is_refused() {
        let checker = checker();
        let proof = proof().sign();
        check_with(&checker, &proof).unwrap();
        assert!(matches!(
            check_with(&checker, &proof),
            Err(DpopError::Replayed)
        ));
    }

    #[test]
    fn same_jti_under_another_key_is_not_a_replay() {
        let checker = checker();
        let other = TestKey::fixture(KeyFamily::P256, 1).unwrap();
        let first = DpopProof::new(&other).url(URL).iat(NOW).jti("j1").sign();
        let request = DpopRequest::new("GET", URL);
        block_on(checker.check(&[&first], &request)).unwrap();
        check_with(&checker, &proof().jti("j1").sign()).unwrap();
    }

    #[test]
    fn a_refused_proof_is_not_remembered() {
        let checker = checker();
        let bad = proof().jti("j1").method("POST").sign();
        assert!(check_with(&checker, &bad).is_err());
        check_with(&checker, &proof().jti("j1").sign()).unwrap();
    }

    #[test]
    fn no_proof_is_missing_proof() {
        let request = DpopRequest::new("GET", URL);
        let result = block_on(checker().check(&[], &request));
        assert!(matches!(result, Err(DpopError::MissingProof)));
    }

    #[test]
    fn two_dpop_headers_are_refused() {
        let (a, b) = (proof().sign(), proof().sign());
        let request = DpopRequest::new("GET", URL);
        let result = block_on(checker().check(&[&a, &b], &request));
        assert_eq!(reason(result), "more than one dpop proof");
    }

    #[test]
    fn two_comma_joined_proofs_are_refused() {
        let joined = format!("{}, {}", proof().sign(), proof().sign());
        assert_eq!(reason(check(&joined)), "more than one dpop proof");
    }

    #[test]
    fn an_empty_proof_is_refused() {
        assert_eq!(reason(check(" ")), "empty dpop proof");
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        check(&format!(" {} ", proof().sign())).unwrap();
    }

    #[test]
    fn a_proof_that_is_not_a_compact_jws_is_refused() {
        assert_eq!(reason(check("a.b")), "proof is not a compact jws");
        assert_eq!(reason(check("a.b.c.d.e")), "proof is not a compact jws");
    }

    #[test]
    fn an_oversized_proof_is_refused() {
        let huge = proof().claim("pad", "x".repeat(MAX_PROOF_BYTES)).sign();
        assert_eq!(reason(check(&huge)), "proof too large");
    }

    #[test]
    fn a_header_that_is_not_a_json_object_is_refused() {
        let array = URL_SAFE_NO_PAD.encode("[1]");
        let proof = proof().sign();
        let rest = proof.split_once('.').unwrap().1;
        assert_eq!(
            reason(check(&format!("{array}.{rest}"))),
            "proof header is not a json object"
        );
    }

    fn signed_raw(header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = key().sign(Algorithm::ES256, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn raw_header() -> String {
        let jwk = serde_json::to_string(&key().public_jwk().unwrap()).unwrap();
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#)
    }

    #[test]
    fn a_duplicate_claim_is_refused() {
        let payload = format!(
            r#"{{"htm":"GET","htm":"POST","htu":"{URL}","iat":{NOW},"jti":"j","ath":"{}"}}"#,
            sha256_b64(TOKEN.as_bytes())
        );
        let proof = signed_raw(&raw_header(), &payload);
        assert_eq!(reason(check(&proof)), "proof claims are not valid");
    }

    #[test]
    fn a_duplicate_header_member_is_refused() {
        let header = raw_header().replacen(r#""alg":"ES256""#, r#""alg":"ES256","alg":"ES256""#, 1);
        let payload = format!(
            r#"{{"htm":"GET","htu":"{URL}","iat":{NOW},"jti":"j","ath":"{}"}}"#,
            sha256_b64(TOKEN.as_bytes())
        );
        let proof = signed_raw(&header, &payload);
        assert_eq!(
            reason(check(&proof)),
            "proof header is not a valid jose header"
        );
        // The same proof without the duplicate is fine: the test isolates the duplicate.
        check(&signed_raw(&raw_header(), &payload)).unwrap();
    }

    #[test]
    fn a_wrong_typ_is_refused() {
        for typ in ["JWT", "at+jwt", "dpop", "dpop+jwt "] {
            assert_eq!(
                reason(check(&proof().typ(typ).sign())),
                "proof typ is not dpop+jwt"
            );
        }
    }

    #[test]
    fn a_missing_typ_is_refused() {
        assert_eq!(reason(check(&proof().no_typ().sign())), "proof has no typ");
    }

    #[test]
    fn typ_is_compared_as_a_media_type() {
        let checker = checker();
        for typ in ["DPoP+JWT", "application/dpop+jwt", "Application/DPOP+jwt"] {
            check_with(&checker, &proof().typ(typ).sign()).unwrap();
        }
    }

    #[test]
    fn alg_none_is_refused() {
        assert_eq!(
            reason(check(&proof().alg_label("none").sign())),
            "unsupported proof algorithm"
        );
    }

    #[test]
    fn symmetric_alg_is_refused() {
        assert_eq!(
            reason(check(&proof().alg_label("HS256").sign())),
            "proof algorithm is symmetric"
        );
    }

    #[test]
    fn an_alg_outside_the_allow_list_is_refused() {
        let checker = DpopChecker::builder()
            .algorithms([Algorithm::EdDSA])
            .clock(clock())
            .build()
            .unwrap();
        assert_eq!(
            reason(check_with(&checker, &proof().sign())),
            "proof algorithm not allowed"
        );
    }

    #[test]
    fn a_jwk_of_another_key_type_than_alg_is_refused() {
        let ed = TestKey::fixture(KeyFamily::Ed25519, 0).unwrap();
        let proof = proof().jwk(ed.public_jwk().unwrap()).sign();
        assert_eq!(reason(check(&proof)), "proof jwk does not fit alg");
        let p384 = TestKey::fixture(KeyFamily::P384, 0).unwrap();
        let proof = self::proof().jwk(p384.public_jwk().unwrap()).sign();
        assert_eq!(reason(check(&proof)), "proof jwk does not fit alg");
    }

    #[test]
    fn a_missing_jwk_is_refused() {
        assert_eq!(reason(check(&proof().no_jwk().sign())), "proof has no jwk");
    }

    #[test]
    fn a_private_jwk_is_refused() {
        assert_eq!(
            reason(check(&proof().private_jwk().sign())),
            "proof jwk contains private key members"
        );
    }

    #[test]
    fn every_private_or_symmetric_member_is_refused() {
        // RFC 7518 §6.2.2, §6.3.2, §6.4.
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            let mut jwk = key().public_jwk().unwrap();
            jwk[member] = "AQAB".into();
            assert_eq!(
                reason(check(&proof().jwk(jwk).sign())),
                "proof jwk contains private key members",
                "{member}"
            );
        }
    }

    #[test]
    fn a_member_given_twice_in_the_proof_jwk_is_refused() {
        let jwk = key().public_jwk().unwrap();
        let x = jwk["x"].as_str().unwrap().to_owned();
        let header = proof().sign();
        let header_json = String::from_utf8(
            URL_SAFE_NO_PAD
                .decode(header.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        // A second `x` after the real one: which one would a parser keep?
        let twice = header_json.replacen(
            &format!("\"x\":\"{x}\""),
            &format!("\"x\":\"{x}\",\"x\":\"{x}\""),
            1,
        );
        assert_ne!(twice, header_json);
        let rest = header.split_once('.').unwrap().1;
        let tampered = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(twice));
        assert_eq!(
            reason(check(&tampered)),
            "proof header is not a valid jose header"
        );
    }

    #[test]
    fn a_cached_proof_key_still_needs_a_valid_signature() {
        let checker = checker();
        check_with(&checker, &proof().sign()).expect("first proof caches the key");
        let (input, signature) = proof()
            .sign()
            .rsplit_once('.')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[10] ^= 1;
        let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            reason(check_with(&checker, &forged)),
            "proof signature does not verify"
        );
    }

    #[test]
    fn a_cached_proof_key_is_not_used_for_another_key() {
        let checker = checker();
        check_with(&checker, &proof().sign()).expect("first proof caches the key");
        // Another key: its own thumbprint, parsed and checked on its own.
        let other = TestKey::fixture(KeyFamily::P256, 1).unwrap();
        let other_proof = || DpopProof::new(&other).url(URL).token(TOKEN).iat(NOW);
        let other_jkt = other.jkt();
        let request = DpopRequest::new("GET", URL)
            .access_token(TOKEN)
            .cnf_jkt(&other_jkt);
        let verified = block_on(checker.check(&[&other_proof().sign()], &request))
            .expect("another key's proof verifies with that key");
        assert_eq!(verified.jkt(), other.jkt());
        // And the other key's signature does not pass under the cached key's jwk.
        let swapped = other_proof().jwk(key().public_jwk().unwrap()).sign();
        assert_eq!(
            reason(check_with(&checker, &swapped)),
            "proof signature does not verify"
        );
    }

    #[test]
    fn a_symmetric_jwk_is_refused() {
        let proof = proof().jwk(json!({"kty": "oct", "k": "c2VjcmV0"})).sign();
        assert!(check(&proof).is_err());
    }

    #[test]
    fn crit_is_refused() {
        let proof = proof().header("crit", json!(["exp"])).sign();
        assert_eq!(
            reason(check(&proof)),
            "unsupported critical header parameter"
        );
    }

    #[test]
    fn jku_and_x5u_are_ignored_the_embedded_jwk_decides() {
        let proof = proof()
            .header("jku", "https://attacker.example/jwks")
            .header("x5u", "https://attacker.example/cert")
            .header("kid", "someone-else")
            .sign();
        check(&proof).unwrap();
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let other = TestKey::fixture(KeyFamily::P256, 1).unwrap();
        let proof = DpopProof::new(&other)
            .jwk(key().public_jwk().unwrap())
            .url(URL)
            .token(TOKEN)
            .iat(NOW)
            .sign();
        assert_eq!(reason(check(&proof)), "proof signature does not verify");
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let proof = proof().sign();
        let parts: Vec<&str> = proof.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&json!({"htm": "GET", "htu": URL, "iat": NOW, "jti": "x",
                "ath": sha256_b64(TOKEN.as_bytes())}))
            .unwrap(),
        );
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(reason(check(&tampered)), "proof signature does not verify");
    }

    #[test]
    fn a_weak_rsa_jwk_is_refused() {
        let path = format!(
            "{}/fixtures/keys/rsa-1024-weak.jwk.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let jwk: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let rsa = TestKey::fixture(KeyFamily::Rsa, 0).unwrap();
        let proof = DpopProof::new(&rsa).jwk(jwk).url(URL).iat(NOW).sign();
        let request = DpopRequest::new("GET", URL);
        let result = block_on(checker().check(&[&proof], &request));
        assert_eq!(reason(result), "proof jwk is not a usable public key");
    }

    #[test]
    fn a_wrong_htm_is_refused() {
        assert_eq!(
            reason(check(&proof().method("POST").sign())),
            "htm does not match the request method"
        );
    }

    #[test]
    fn htm_is_case_sensitive() {
        assert_eq!(
            reason(check(&proof().method("get").sign())),
            "htm does not match the request method"
        );
    }

    #[test]
    fn a_missing_htm_is_refused() {
        assert_eq!(
            reason(check(&proof().without_claim("htm").sign())),
            "proof has no htm"
        );
    }

    #[test]
    fn a_wrong_htu_is_refused() {
        let proof = proof().url("https://api.example.test/other").sign();
        assert_eq!(reason(check(&proof)), "htu does not match the request url");
    }

    #[test]
    fn htu_on_another_host_is_refused() {
        let proof = proof().url("https://evil.example.test/notes").sign();
        assert_eq!(reason(check(&proof)), "htu does not match the request url");
    }

    #[test]
    fn a_missing_htu_is_refused() {
        assert_eq!(
            reason(check(&proof().without_claim("htu").sign())),
            "proof has no htu"
        );
    }

    #[test]
    fn htu_matches_after_normalisation() {
        let checker = checker();
        for htu in [
            "HTTPS://API.EXAMPLE.TEST:443/notes",
            "https://api.example.test/notes?x=1",
            "https://api.example.test/notes#frag",
        ] {
            check_with(&checker, &proof().url(htu).sign()).unwrap();
        }
    }

    #[test]
    fn request_query_is_ignored() {
        let jkt = key().jkt();
        let request = DpopRequest::new("GET", "https://api.example.test/notes?page=2")
            .access_token(TOKEN)
            .cnf_jkt(&jkt);
        block_on(checker().check(&[&proof().sign()], &request)).unwrap();
    }

    #[test]
    fn a_relative_request_url_is_a_request_error() {
        let request = DpopRequest::new("GET", "/notes");
        let result = block_on(checker().check(&[&proof().sign()], &request));
        assert!(matches!(result, Err(DpopError::InvalidRequest(_))));
    }

    #[test]
    fn an_iat_older_than_the_window_is_refused() {
        assert_eq!(
            reason(check(&proof().iat(NOW - 61).sign())),
            "proof iat is too old"
        );
    }

    #[test]
    fn an_iat_at_the_edge_of_the_window_is_accepted() {
        let checker = checker();
        check_with(&checker, &proof().iat(NOW - 60).sign()).unwrap();
        check_with(&checker, &proof().iat(NOW + 60).sign()).unwrap();
    }

    #[test]
    fn an_iat_in_the_future_is_refused() {
        assert_eq!(
            reason(check(&proof().iat(NOW + 61).sign())),
            "proof iat is in the future"
        );
    }

    #[test]
    fn the_iat_window_is_configurable() {
        let checker = DpopChecker::builder()
            .iat_window(Duration::from_secs(300))
            .clock(clock())
            .build()
            .unwrap();
        check_with(&checker, &proof().iat(NOW - 299).sign()).unwrap();
        assert_eq!(
            reason(check_with(&checker, &proof().iat(NOW - 301).sign())),
            "proof iat is too old"
        );
    }

    #[test]
    fn a_missing_iat_is_refused() {
        assert_eq!(
            reason(check(&proof().without_claim("iat").sign())),
            "proof has no iat"
        );
    }

    #[test]
    fn a_string_iat_is_refused() {
        let proof = proof().claim("iat", NOW.to_string()).sign();
        assert_eq!(reason(check(&proof)), "proof claims are not valid");
    }

    #[test]
    fn a_fractional_iat_is_accepted() {
        check(&proof().claim("iat", NOW as f64 + 0.5).sign()).unwrap();
    }

    #[test]
    fn a_missing_jti_is_refused() {
        assert_eq!(
            reason(check(&proof().without_claim("jti").sign())),
            "proof has no jti"
        );
    }

    #[test]
    fn an_empty_or_overlong_jti_is_refused() {
        for jti in [String::new(), "j".repeat(MAX_JTI_BYTES + 1)] {
            assert_eq!(
                reason(check(&proof().jti(&jti).sign())),
                "proof jti is empty or too long"
            );
        }
        check(&proof().jti(&"j".repeat(MAX_JTI_BYTES)).sign()).unwrap();
    }

    #[test]
    fn a_wrong_ath_is_refused() {
        let proof = proof().token("another.access.token").sign();
        assert_eq!(reason(check(&proof)), "ath does not match the access token");
    }

    #[test]
    fn a_missing_ath_is_refused_when_a_token_is_presented() {
        assert_eq!(
            reason(check(&proof().without_claim("ath").sign())),
            "proof has no ath"
        );
    }

    #[test]
    fn ath_is_not_needed_without_an_access_token() {
        let request = DpopRequest::new("GET", URL);
        let proof = proof().without_claim("ath").sign();
        block_on(checker().check(&[&proof], &request)).unwrap();
    }

    #[test]
    fn another_keys_proof_is_a_binding_mismatch() {
        let other = TestKey::fixture(KeyFamily::P256, 1).unwrap();
        let proof = DpopProof::new(&other).url(URL).token(TOKEN).iat(NOW).sign();
        assert!(matches!(
            check(&proof),
            Err(DpopError::BindingMismatch(
                "proof key does not match cnf jkt"
            ))
        ));
    }

    #[test]
    fn a_token_without_cnf_jkt_is_a_binding_mismatch() {
        let request = DpopRequest::new("GET", URL).access_token(TOKEN);
        let result = block_on(checker().check(&[&proof().sign()], &request));
        assert!(matches!(
            result,
            Err(DpopError::BindingMismatch("access token is not dpop-bound"))
        ));
    }

    fn nonce_checker() -> (DpopChecker, ManualClock) {
        let clock = clock();
        let issuer = NonceIssuer::with_secret(&[3; 32], Duration::from_secs(60)).unwrap();
        let checker = DpopChecker::builder()
            .nonces(issuer)
            .clock(clock.clone())
            .build()
            .unwrap();
        (checker, clock)
    }

    #[test]
    fn a_missing_nonce_is_use_nonce_when_nonces_are_on() {
        let (checker, _) = nonce_checker();
        assert!(matches!(
            check_with(&checker, &proof().sign()),
            Err(DpopError::UseNonce("dpop nonce required"))
        ));
    }

    #[test]
    fn the_current_nonce_is_accepted() {
        let (checker, _) = nonce_checker();
        let nonce = checker.current_nonce().unwrap();
        check_with(&checker, &proof().nonce(&nonce).sign()).unwrap();
    }

    #[test]
    fn the_previous_nonce_is_accepted() {
        let (checker, clock) = nonce_checker();
        let nonce = checker.current_nonce().unwrap();
        clock.advance(Duration::from_secs(60));
        assert_ne!(checker.current_nonce().unwrap(), nonce);
        let proof = proof().iat(NOW + 60).nonce(&nonce).sign();
        check_with(&checker, &proof).unwrap();
    }

    #[test]
    fn a_stale_nonce_is_use_nonce() {
        let (checker, clock) = nonce_checker();
        let nonce = checker.current_nonce().unwrap();
        clock.advance(Duration::from_secs(120));
        let proof = proof().iat(NOW + 120).nonce(&nonce).sign();
        assert!(matches!(
            check_with(&checker, &proof),
            Err(DpopError::UseNonce("dpop nonce is stale or unknown"))
        ));
    }

    #[test]
    fn nonces_are_off_by_default() {
        assert_eq!(checker().current_nonce(), None);
        check(&proof().nonce("anything").sign()).unwrap();
    }

    #[derive(Debug)]
    struct DownStore;

    impl ReplayStore for DownStore {
        fn check_and_remember(&self, _id: &str, _until: Duration) -> StoreFuture<'_> {
            Box::pin(async { Err(StoreError::new("connection refused")) })
        }
    }

    #[test]
    fn a_failing_store_is_store_unavailable() {
        let checker = DpopChecker::builder()
            .replay_store(DownStore)
            .clock(clock())
            .build()
            .unwrap();
        assert!(matches!(
            check_with(&checker, &proof().sign()),
            Err(DpopError::StoreUnavailable(_))
        ));
    }

    #[derive(Debug, Default)]
    struct Recording(std::sync::Mutex<Vec<(String, Duration)>>);

    impl ReplayStore for Arc<Recording> {
        fn check_and_remember(&self, id: &str, until: Duration) -> StoreFuture<'_> {
            self.0.lock().unwrap().push((id.to_owned(), until));
            Box::pin(async { Ok(true) })
        }
    }

    #[test]
    fn the_store_gets_a_hashed_id_and_iat_plus_window() {
        let recording = Arc::new(Recording::default());
        let checker = DpopChecker::builder()
            .replay_store(recording.clone())
            .clock(clock())
            .build()
            .unwrap();
        check_with(&checker, &proof().iat(NOW - 10).jti("my-jti").sign()).unwrap();
        let calls = recording.0.lock().unwrap();
        let (id, until) = &calls[0];
        assert_eq!(id.len(), 43);
        assert!(!id.contains("my-jti"));
        assert_eq!(*until, Duration::from_secs((NOW - 10 + 60 + 1) as u64));
    }

    #[test]
    fn a_proof_is_not_replayable_in_the_last_second_of_its_window() {
        let clock = clock();
        let checker = DpopChecker::builder().clock(clock.clone()).build().unwrap();
        // iat at the window's old edge: still accepted through the whole second NOW.
        let proof = proof().iat(NOW - 60).sign();
        check_with(&checker, &proof).unwrap();
        for millis in [0, 500, 999] {
            clock.set(Duration::from_millis(NOW as u64 * 1000 + millis));
            assert!(
                matches!(check_with(&checker, &proof), Err(DpopError::Replayed)),
                "replayed at +{millis} ms"
            );
        }
        clock.set(Duration::from_secs(NOW as u64 + 1));
        assert_eq!(reason(check_with(&checker, &proof)), "proof iat is too old");
    }

    #[test]
    fn bad_configuration_is_refused() {
        let builds = [
            DpopChecker::builder().algorithms([]).build(),
            DpopChecker::builder()
                .algorithms([Algorithm::HS256])
                .build(),
            DpopChecker::builder().iat_window(Duration::ZERO).build(),
            DpopChecker::builder()
                .iat_window(Duration::from_secs(3601))
                .build(),
            DpopChecker::builder().replay_capacity(0).build(),
        ];
        for build in builds {
            assert!(matches!(build, Err(DpopError::Config(_))));
        }
    }

    #[test]
    fn errors_never_contain_the_proof_or_token() {
        let proof = proof().method("POST").sign();
        let message = check(&proof).unwrap_err().to_string();
        assert!(
            !message.contains(&proof[..20]) && !message.contains(TOKEN),
            "{message}"
        );
        let debug = format!("{:?}", DpopRequest::new("GET", URL).access_token(TOKEN));
        assert!(!debug.contains(TOKEN), "{debug}");
    }
}
