use std::process::ExitCode;

fn main() -> ExitCode {
    occamy::launcher::main_with(occamy::network::Registry::with_builtins())
}
