//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds the migrations folder
//! at compile time and must never ship an outdated copy of it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
