//! `jwks-auth verify`: builds a verifier from one key source and checks a token.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::{ArgGroup, Args};
use jwks_auth::dpop::{DpopMode, DpopRequest};
use jwks_auth::introspection::Introspection;
use jwks_auth::{dangerous, Algorithm, ManualClock, Provider, TokenSource, TokenType, Verifier};
use serde_json::Value;

use crate::failure::{runtime, Failure};
use crate::token_input;

/// Arguments of `jwks-auth verify`.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("source")
        .required(true)
        .args(["provider", "provider_file", "oidc", "jwks_url", "jwks_file", "pem_file", "secret_env"])
))]
#[command(group(ArgGroup::new("origin").args(["base_url", "domain"])))]
pub struct VerifyArgs {
    /// Built-in provider preset (most need --base-url or --domain; see `jwks-auth providers`).
    #[arg(long, value_name = "NAME", value_parser = PossibleValuesParser::new(preset_names()),
          help_heading = "Key source (exactly one)")]
    provider: Option<String>,
    /// The provider's base URL (its origin fills the preset's {origin}).
    #[arg(long, value_name = "URL", help_heading = "Key source (exactly one)")]
    base_url: Option<String>,
    /// The provider's host, e.g. tenant.eu.auth0.com (becomes https://HOST).
    #[arg(long, value_name = "HOST", help_heading = "Key source (exactly one)")]
    domain: Option<String>,
    /// Fills another preset placeholder, e.g. --param realm=main (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param,
          help_heading = "Key source (exactly one)")]
    params: Vec<(String, String)>,
    /// A preset file of your own (see providers/*.toml).
    #[arg(
        long,
        value_name = "FILE.toml",
        help_heading = "Key source (exactly one)"
    )]
    provider_file: Option<PathBuf>,
    /// Any OpenID Connect issuer: keys found through its discovery document (needs
    /// --audience).
    #[arg(long, value_name = "ISSUER", help_heading = "Key source (exactly one)")]
    oidc: Option<String>,
    /// Fetch keys from this JWKS URL (https, or http on loopback).
    #[arg(long, value_name = "URL", help_heading = "Key source (exactly one)")]
    jwks_url: Option<String>,
    /// Read keys from a JWK set file.
    #[arg(long, value_name = "FILE", help_heading = "Key source (exactly one)")]
    jwks_file: Option<PathBuf>,
    /// Read one public key (RSA, EC or Ed25519) from a PEM file.
    #[arg(long, value_name = "FILE", help_heading = "Key source (exactly one)")]
    pem_file: Option<PathBuf>,
    /// Verify HS256/384/512 with the shared secret in this environment variable.
    #[arg(long, value_name = "VAR", help_heading = "Key source (exactly one)")]
    secret_env: Option<String>,

    /// Required `iss` (default: the preset's; any issuer for a bare key source).
    #[arg(long, value_name = "I")]
    issuer: Option<String>,
    /// Accepted `aud` (repeatable); also fills a preset's {audience}. Default: the preset's
    /// rule; any `aud` for a bare key source.
    #[arg(long = "audience", value_name = "A")]
    audiences: Vec<String>,
    /// Allowed algorithm (repeatable). Default: the preset's, or every one the key fits.
    #[arg(long = "alg", value_name = "ALG", value_parser = parse_algorithm)]
    algorithms: Vec<Algorithm>,
    /// Accepted `typ` header value (repeatable or comma-separated); `at+jwt` alone requires
    /// an RFC 9068 access token (and its claims). Default: the preset's rule, else any.
    #[arg(long = "typ", value_name = "VALUE", value_delimiter = ',')]
    typ: Vec<String>,
    /// Clock-skew leeway in seconds (default: the preset's, else 60).
    #[arg(long, value_name = "SECS")]
    leeway: Option<u64>,
    /// Verify as if now were this Unix time (seconds).
    #[arg(long, value_name = "UNIX_TS")]
    at: Option<u64>,
    /// The claim that holds the user id (dotted paths reach nested claims).
    #[arg(long, value_name = "C")]
    user_id_claim: Option<String>,
    /// Allow a plain-http JWKS URL on a non-loopback host (insecure).
    #[arg(long)]
    allow_http: bool,

    /// Verify a DPoP-bound token (RFC 9449) with this proof (the request's `DPoP` header);
    /// needs --method and --url. Without it, a token with a `cnf` claim is refused.
    #[arg(long, value_name = "PROOF", requires_all = ["method", "url"], help_heading = "DPoP")]
    dpop_proof: Option<String>,
    /// The HTTP method of the request the proof was made for, e.g. GET.
    #[arg(
        long,
        value_name = "METHOD",
        requires = "dpop_proof",
        help_heading = "DPoP"
    )]
    method: Option<String>,
    /// The absolute URL of the request the proof was made for.
    #[arg(
        long,
        value_name = "URL",
        requires = "dpop_proof",
        help_heading = "DPoP"
    )]
    url: Option<String>,

    /// Verify opaque tokens (not a JWS) through this RFC 7662 introspection endpoint.
    #[arg(long, value_name = "URL", help_heading = "Opaque tokens")]
    introspect: Option<String>,
    /// The client id the introspection endpoint authenticates (client_secret_basic).
    #[arg(
        long,
        value_name = "ID",
        requires_all = ["introspect", "client_secret_env"],
        help_heading = "Opaque tokens"
    )]
    client_id: Option<String>,
    /// The environment variable holding the client secret (never a command-line value).
    #[arg(
        long,
        value_name = "VAR",
        requires = "client_id",
        help_heading = "Opaque tokens"
    )]
    client_secret_env: Option<String>,

    /// The token, or `-` to read it from stdin.
    #[arg(value_name = "TOKEN | -")]
    token: String,
}

/// The names `--provider` accepts: every built-in preset.
pub fn preset_names() -> Vec<&'static str> {
    Provider::builtin_names().collect()
}

/// Parses an algorithm name as in a JWT header (`ES256`, `EdDSA`, ...).
pub fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    name.parse().map_err(|_| {
        let names: Vec<_> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
        format!("unknown algorithm (expected one of {})", names.join(", "))
    })
}

/// Runs `verify`: prints the accepted token as JSON, or fails with exit 1 / 2.
pub fn run(args: VerifyArgs) -> Result<(), Failure> {
    let verifier = build_verifier(&args)?;
    let token = token_input::read(&args.token)?;
    let user = match (&args.dpop_proof, &args.method, &args.url) {
        (Some(proof), Some(method), Some(url)) => {
            let request = DpopRequest::new(method, url);
            let proofs = [proof.trim()];
            runtime()?.block_on(verifier.verify_dpop(&token, &proofs, &request))?
        }
        _ => runtime()?.block_on(verifier.verify(&token))?,
    };
    // An introspected opaque token has no header.
    let header = match dangerous::decode_unverified(&token) {
        Ok(decoded) => decoded.header,
        Err(_) if args.introspect.is_some() => serde_json::Map::new(),
        Err(error) => return Err(error.into()),
    };
    // Written by hand to keep the documented member order (serde_json sorts map keys).
    println!(
        "{{\"user_id\":{},\"header\":{},\"claims\":{}}}",
        Value::String(user.id.clone()),
        Value::Object(header),
        Value::Object(user.claims.as_map().clone()),
    );
    Ok(())
}

fn build_verifier(args: &VerifyArgs) -> Result<Verifier, Failure> {
    let bare_key_source =
        args.provider.is_none() && args.provider_file.is_none() && args.oidc.is_none();
    let provider = source_provider(args)?;
    // The token comes from the command line, never from a cookie.
    let mut builder = Verifier::builder(provider)
        .allow_insecure_http(args.allow_http)
        .token_sources([TokenSource::Bearer]);
    match &args.issuer {
        Some(issuer) => builder = builder.issuer(issuer),
        None if bare_key_source => builder = builder.any_issuer(),
        None => {}
    }
    if !args.audiences.is_empty() {
        builder = builder.audiences(args.audiences.iter().cloned());
    } else if bare_key_source {
        // Like the issuer: a bare key source names no audience, so any `aud` (or none) passes.
        builder = builder.any_audience();
    }
    if !args.algorithms.is_empty() {
        builder = builder.algorithms(args.algorithms.iter().copied());
    }
    if !args.typ.is_empty() {
        builder = builder.token_type(TokenType::from_values(args.typ.iter().cloned()));
    }
    if let Some(secs) = args.leeway {
        builder = builder.leeway(Duration::from_secs(secs));
    }
    if let Some(claim) = &args.user_id_claim {
        builder = builder.user_id_claim(claim);
    }
    if let Some(secs) = args.at {
        builder = builder.clock(ManualClock::at_unix(secs));
    }
    if args.dpop_proof.is_some() {
        builder = builder.dpop(DpopMode::Allowed);
    }
    if let Some(endpoint) = &args.introspect {
        let mut introspection = Introspection::new(endpoint);
        if let (Some(id), Some(var)) = (&args.client_id, &args.client_secret_env) {
            let secret = std::env::var(var)
                .map_err(|_| Failure::config(format!("--client-secret-env: ${var} is not set")))?;
            introspection = introspection.client_secret_basic(id, secret);
        }
        builder = builder.introspection(introspection);
    }
    let verifier = builder.build().map_err(|e| name_the_http_flag(e.into()))?;
    if bare_key_source {
        if let Some(warning) = bare_source_warning(args) {
            eprintln!("{warning}");
        }
    }
    Ok(verifier)
}

/// The one warning line for a bare key source that leaves `iss` or `aud` unchecked.
fn bare_source_warning(args: &VerifyArgs) -> Option<String> {
    let flag = [
        (args.jwks_url.is_some(), "--jwks-url"),
        (args.jwks_file.is_some(), "--jwks-file"),
        (args.pem_file.is_some(), "--pem-file"),
        (args.secret_env.is_some(), "--secret-env"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))?;
    let (missing, unchecked) = match (args.issuer.is_none(), args.audiences.is_empty()) {
        (true, true) => (
            "--issuer or --audience",
            "any issuer and any audience are accepted",
        ),
        (true, false) => ("--issuer", "any issuer is accepted"),
        (false, true) => ("--audience", "any audience is accepted"),
        (false, false) => return None,
    };
    Some(format!("warning: {flag} without {missing}: {unchecked}"))
}

/// The provider for whichever key source was given (clap guarantees exactly one).
fn source_provider(args: &VerifyArgs) -> Result<Provider, Failure> {
    // The library turns a host or URL into `{origin}`, as its named constructors do.
    let base = args.base_url.as_deref().or(args.domain.as_deref());
    let mut params: Vec<(&str, &str)> = args
        .params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    if let Some(audience) = args.audiences.first() {
        params.push(("audience", audience));
    }
    if let Some(name) = &args.provider {
        let provider = match base {
            Some(base) => Provider::preset_at(name, base, &params),
            None => Provider::preset(name, &params),
        };
        return provider.map_err(|e| with_hint(e.into()));
    }
    if let Some(path) = &args.provider_file {
        let source = read_file(path, "--provider-file")?;
        let label = path.display().to_string();
        let provider = match base {
            Some(base) => Provider::from_toml_str_at(&source, &label, base, &params),
            None => Provider::from_toml_str_with(&source, &label, &params),
        };
        return provider.map_err(|e| with_hint(e.into()));
    }
    if args.base_url.is_some() || args.domain.is_some() || !args.params.is_empty() {
        return Err(Failure::config(
            "--base-url, --domain and --param go with --provider or --provider-file",
        ));
    }
    if let Some(issuer) = &args.oidc {
        return Ok(Provider::oidc(issuer)?);
    }
    if let Some(url) = &args.jwks_url {
        return Ok(Provider::from_toml_str_with(
            JWKS_URL_PRESET,
            "--jwks-url",
            &[("url", url)],
        )?);
    }
    if let Some(path) = &args.jwks_file {
        return Ok(Provider::static_jwks(&read_file(path, "--jwks-file")?)?);
    }
    if let Some(path) = &args.pem_file {
        return Ok(Provider::public_key_pem(read_file(path, "--pem-file")?)?);
    }
    if let Some(var) = &args.secret_env {
        // The messages name the variable, never its value.
        let secret = std::env::var(var).map_err(|e| {
            Failure::config(match e {
                std::env::VarError::NotPresent => {
                    format!("--secret-env: environment variable `{var}` is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("--secret-env: environment variable `{var}` is not valid UTF-8")
                }
            })
        })?;
        return Ok(Provider::shared_secret(secret)?);
    }
    Err(Failure::config(
        "no key source: give one of --provider, --provider-file, --jwks-url, --jwks-file, --pem-file, --secret-env",
    ))
}

/// A preset for a bare JWKS URL: every asymmetric algorithm; `aud` unchecked unless given
/// (`any_audience` in `build_verifier`).
const JWKS_URL_PRESET: &str = r#"
name = "jwks-url"
jwks_url = "{url}"
audience = "none"
algorithms = ["EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
"#;

/// Points a missing-placeholder error at the flag that fills it.
fn with_hint(failure: Failure) -> Failure {
    failure.map_detail(|detail| {
        let placeholder = detail
            .split_once("placeholder `{")
            .and_then(|(_, rest)| rest.split_once("}`"))
            .map(|(name, _)| name.to_owned());
        match placeholder {
            Some(name) => format!("{detail}; pass {}", flag_for(&name)),
            None => detail,
        }
    })
}

/// The verify flag that fills preset placeholder `{name}`.
pub fn flag_for(name: &str) -> String {
    match name {
        "origin" => "--base-url URL (or --domain HOST)".to_owned(),
        "audience" => "--audience A".to_owned(),
        other => format!("--param {other}=VALUE"),
    }
}

/// Parses `NAME=VALUE` for `--param`.
fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err("expected NAME=VALUE".to_owned()),
    }
}

fn read_file(path: &Path, flag: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::config(format!("{flag}: cannot read {}: {e}", path.display())))
}

/// The library's refusal of a plain-http URL, naming the CLI flag rather than the builder
/// method.
pub fn name_the_http_flag(failure: Failure) -> Failure {
    failure.map_detail(|detail| detail.replace("allow_insecure_http", "--allow-http"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_librarys_http_refusal_names_the_cli_flag() {
        let provider = Provider::from_toml_str_with(
            JWKS_URL_PRESET,
            "--jwks-url",
            &[("url", "http://idp.example.com/keys")],
        )
        .unwrap();
        let err = Verifier::builder(provider).build().unwrap_err();
        let failure = name_the_http_flag(err.into());
        let detail = format!("{failure:?}");
        assert!(detail.contains("--allow-http"), "{detail}");
        assert!(!detail.contains("allow_insecure_http"), "{detail}");
    }
}
