//! The `eportal` command: parses the command line and hands over to the library.

/// mimalloc rather than the system allocator: a cached results read allocates a few dozen
/// small buffers, and glibc's allocator spent a fifth of the read path's CPU on them (and
/// kept freed memory in per-thread arenas).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    eportal::cli::run()
}
