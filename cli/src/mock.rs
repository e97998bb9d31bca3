//! `jwks-auth mock`: a local mock provider (JWKS + `POST /token`) for development.

use std::net::TcpListener;

use clap::builder::PossibleValuesParser;
use clap::Args;
use jwks_auth::testing::{MockProvider, MOCK_AUDIENCE};
use jwks_auth::{Algorithm, AudienceRule, Provider};

use crate::failure::{runtime, Failure};
use crate::verify::{parse_algorithm, preset_names};

/// Arguments of `jwks-auth mock`.
#[derive(Debug, Args)]
pub struct MockArgs {
    /// Signing algorithm (default: the preset's first).
    #[arg(long, value_name = "ALG", value_parser = parse_algorithm)]
    alg: Option<Algorithm>,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "P")]
    port: Option<u16>,
    /// The provider to imitate.
    #[arg(long, value_name = "NAME", default_value = "better-auth",
          value_parser = PossibleValuesParser::new(preset_names()))]
    preset: String,
}

/// Runs `mock` until Ctrl-C.
pub fn run(args: MockArgs) -> Result<(), Failure> {
    // The preset as its file says, to check the algorithm before the mock asserts it.
    let probe = Provider::preset_info(&args.preset)?;
    let alg = match args.alg {
        Some(alg) if probe.algorithms.contains(&alg) => alg,
        Some(alg) => {
            let allowed: Vec<_> = probe.algorithms.iter().map(|a| a.as_str()).collect();
            return Err(Failure::config(format!(
                "preset {} does not allow {alg} (allowed: {})",
                args.preset,
                allowed.join(", ")
            )));
        }
        None => probe.algorithms[0],
    };
    let listener = args
        .port
        .map(|port| {
            TcpListener::bind(("127.0.0.1", port))
                .map_err(|e| Failure::config(format!("cannot listen on 127.0.0.1:{port}: {e}")))
        })
        .transpose()?;
    runtime()?.block_on(async {
        let mock = match listener {
            Some(listener) => MockProvider::start_on(&args.preset, alg, listener).await,
            None => MockProvider::start(&args.preset, alg).await,
        };
        mock.serve_token_endpoint().await;
        println!("{}", banner(&mock, alg, probe.audience_rule));
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| Failure::config(format!("cannot wait for Ctrl-C: {e}")))?;
        eprintln!("mock provider stopped");
        Ok(())
    })
}

/// What the mock serves and a ready-to-paste round trip.
fn banner(mock: &MockProvider, alg: Algorithm, rule: AudienceRule) -> String {
    let base = mock.uri();
    let audience_flag = match rule {
        AudienceRule::Required => format!(" --audience {MOCK_AUDIENCE}"),
        _ => String::new(),
    };
    format!(
        "mock {preset} provider signing with {alg}; Ctrl-C to stop\n\
         base URL: {base}\n\
         JWKS URL: {jwks}\n\
         issuer:   {issuer}\n\
         \n\
         get a token (the JSON body sets or overrides claims):\n  \
         curl -s -X POST {base}/token -d '{{\"sub\":\"user_1\"}}'\n\
         verify it:\n  \
         jwks-auth verify --provider {preset} --base-url {base}{audience_flag} <TOKEN>",
        preset = mock.preset(),
        jwks = mock.jwks_url(),
        issuer = mock.issuer(),
    )
}
