//! Helpers shared by integration-test binaries (`mod support;` in a `tests/*.rs` file).
//! Each binary uses only part of them, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod node;
