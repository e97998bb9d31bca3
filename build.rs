//! Compiles every `providers/*.toml` into the crate, so a new preset needs only its file.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time: a build script binary reused from another checkout must not point
    // at that checkout's files.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("providers");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("providers/ directory")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    // The three founding presets first, then the rest alphabetically.
    let rank = |name: &str| {
        ["better-auth", "auth0", "clerk"]
            .iter()
            .position(|n| *n == name)
            .unwrap_or(3)
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    let mut out = String::from("&[\n");
    for name in &names {
        let path = dir.join(format!("{name}.toml"));
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("presets.rs");
    std::fs::write(target, out).unwrap();
}
