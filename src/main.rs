//! The `cofund` binary: everything lives in the library; this only hands over the command line.

/// mimalloc instead of glibc's malloc: under load the service's threads (HTTP workers and the
/// blocking pool that runs diesel) allocate and free across threads, where glibc's arenas
/// spent a seventh of the service's CPU in the benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cofund::cli::main()
}
