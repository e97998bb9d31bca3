//! Reading the TOKEN argument, or the token from stdin for `-`.

use std::io::Read;

use jwks_auth::MAX_TOKEN_BYTES;

use crate::failure::Failure;

/// Stdin is read up to this many bytes; anything longer is refused as too large without
/// buffering the rest (the library refuses tokens over `MAX_TOKEN_BYTES` anyway).
const STDIN_LIMIT: usize = 4 * 1024 * 1024;

/// The token from the argument, or from stdin when it is `-`; surrounding whitespace removed.
pub fn read(arg: &str) -> Result<String, Failure> {
    if arg != "-" {
        return Ok(arg.trim().to_owned());
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(STDIN_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::config(format!("cannot read the token from stdin: {e}")))?;
    if bytes.len() > STDIN_LIMIT.max(MAX_TOKEN_BYTES) {
        return Err(Failure::malformed("token too large"));
    }
    let text = String::from_utf8(bytes).map_err(|_| Failure::malformed("token is not UTF-8"))?;
    Ok(text.trim().to_owned())
}
