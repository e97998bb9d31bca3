//! `jwks-auth`: verify, inspect and debug identity-provider JWTs from the command line.
//!
//! Exit codes are a contract for scripts: 0 accepted / done, 1 rejected (the token, or a JWK
//! set that is not one), 2 usage or configuration error. Errors are one line on stderr:
//! `error: <kind>: <detail>`.

mod failure;
mod inspect;
mod jwks;
mod mock;
mod providers;
mod timefmt;
mod token_input;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Verify identity-provider JWTs (Better Auth, Auth0, Clerk, ...) and debug JWK sets.
#[derive(Debug, Parser)]
#[command(name = "jwks-auth", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify a token; prints {"user_id", "header", "claims"} as JSON when it is accepted.
    Verify(Box<verify::VerifyArgs>),
    /// Decode a token WITHOUT verifying it: header, claims and its dates.
    Inspect(inspect::InspectArgs),
    /// Fetch or read a JWK set and summarise its keys, with warnings.
    Jwks(jwks::JwksArgs),
    /// List the built-in provider presets.
    Providers,
    /// Run a local mock provider (JWKS + POST /token) for development.
    Mock(mock::MockArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(args) => verify::run(*args),
        Command::Inspect(args) => inspect::run(args),
        Command::Jwks(args) => jwks::run(args),
        Command::Providers => providers::run(),
        Command::Mock(args) => mock::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
