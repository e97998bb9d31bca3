//! What the curves share: runtime, clock, providers, token minting.
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::runtime::{Builder, Runtime};

pub const ISSUER: &str = "https://scale.example";
pub const AUDIENCE: &str = "jwks-auth-scale";

/// A tenant's provider: its own issuer and JWKS path on the key server (as
/// `tests/tenants.rs`). The keys curve uses tenant `0` alone.
pub const TENANT_PRESET: &str = r#"
name = "tenant"
jwks_url = "{origin}/tenant-{id}/jwks"
issuer = "{origin}/tenant-{id}"
audience = "none"
algorithms = ["EdDSA", "ES256", "RS256"]
"#;

/// One thread: the measured verifies, and the key fetches they start, run on it alone.
pub fn runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Indices `0..k` spread evenly over `0..n`.
pub fn spread(n: u64, k: u64) -> Vec<u64> {
    let k = k.min(n).max(1);
    (0..k).map(|i| i * n / k).collect()
}
