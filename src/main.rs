//! The `cofund` binary: everything lives in the library; this only hands over the command line.

/// mimalloc instead of glibc's malloc: under load the service's threads (HTTP workers and the
/// blocking pool that runs diesel) allocate and free across threads, where glibc's arenas
/// spent a seventh of the service's CPU in the benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's `mi_option_purge_delay` (its position in `mi_option_e`, `mimalloc.h`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays mapped before mimalloc gives it back to the OS, in ms (its
/// default is 1,000). On match day the memory a second's requests free is wanted again within
/// the next: purged after one second, every page came back through a page fault the kernel
/// zeroes, and `clear_page` was a tenth of the service's CPU at 400 donations/s. A quiet
/// minute still hands it back. `MIMALLOC_PURGE_DELAY` in the environment overrides this.
const PURGE_DELAY_MS: std::ffi::c_long = 60_000;

fn main() -> std::process::ExitCode {
    // SAFETY: sets one of mimalloc's options (an integer in its option table); the
    // `_default` variant leaves a value the environment gave untouched.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    cofund::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is mimalloc's purge delay: its built-in default (1,000 ms) is what this
    /// slot holds before the binary sets it; after, the delay is a minute. An upgrade that moves
    /// the option fails here, not silently in production.
    #[test]
    fn the_purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads and sets an integer in mimalloc's option table.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1_000);
            libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
            assert_eq!(
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
                PURGE_DELAY_MS
            );
        }
    }
}
