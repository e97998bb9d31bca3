//! Scale curves of jwks-auth: the cost of one verify and the memory per entry as a structure
//! grows. One curve and one size per run:
//!
//! ```text
//! scale keys <n>         # keys in the JWK set (1 3 10 30 100)
//! scale issuers <n> [own-client|shared-client]  # issuers behind a TenantVerifier (1 ... 10000)
//! scale verified <n> [pad]  # verified-token cache entries (1000 ... 1000000); pad: a claim
//!                        # of that many characters more in every token
//! scale revocation <n>   # revocation entries (0 1000 ... 1000000)
//! scale dpop <n>         # DPoP replay entries (0 1000 ... 1000000)
//! ```
//!
//! Prints CSV rows `curve,size,case,metric,value,load1` (no header): wall times natively,
//! instructions per op under callgrind (see `harness.rs`, and `run.sh` for the command).
//! `scale serve <file>` is the key server the keys and issuers curves start as a child;
//! `scale probe-verifiers <k>` weighs k verifiers (shared client) kept side by side.
mod alloc;
mod cg;
mod common;
mod dpop;
mod harness;
mod issuers;
mod keys;
mod revocation;
mod server;
mod verified;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: scale <keys|issuers|verified|revocation|dpop> <n> | scale issuers <n> <own-client|shared-client> | scale serve <file>";
    let curve = args.first().map(String::as_str).expect(usage);
    if curve == "serve" {
        return server::serve(args.get(1).expect(usage));
    }
    let n: u64 = args.get(1).expect(usage).parse().expect(usage);
    match curve {
        "keys" => keys::run(n),
        "issuers" => issuers::run(n, args.get(2).map_or("shared-client", String::as_str)),
        "verified" => verified::run(n, args.get(2).map_or(0, |pad| pad.parse().expect(usage))),
        "revocation" => revocation::run(n),
        "dpop" => dpop::run(n),
        "probe-verifiers" => issuers::probe(n),
        _ => panic!("{usage}"),
    }
}
