//! Writes the hostile-sheet suite's generated files to a directory, for `scripts/bench-hostile`
//! (the same generators as `tests/hostile_sheets.rs`; nothing hostile is ever committed).
//!
//!     cargo run --release -p eportal --example hostile_sheets -- OUT_DIR
//!
//! Writes `NN.xlsx` / `NN.csv` per file and `manifest.tsv` (file, name, expected reason).

#[path = "../tests/hostile/mod.rs"]
mod hostile;

use std::io::Write;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: hostile_sheets OUT_DIR"),
    );
    std::fs::create_dir_all(&out)?;
    let mut manifest = std::fs::File::create(out.join("manifest.tsv"))?;
    for (i, h) in hostile::all().into_iter().enumerate() {
        let ext = if h.bytes.starts_with(b"PK") {
            "xlsx"
        } else {
            "csv"
        };
        let file = format!("{:02}.{ext}", i + 1);
        std::fs::write(out.join(&file), &h.bytes)?;
        writeln!(manifest, "{file}\t{}\t{}", h.name, h.reason)?;
    }
    Ok(())
}
