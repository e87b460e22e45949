use std::process::ExitCode;

// See Cargo.toml: fewer bytes per small allocation for networks of millions of processes.
// The library leaves the allocator to the program that embeds it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    occamy::launcher::main_with(occamy::Registry::with_builtins())
}
