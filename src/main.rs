use std::process::ExitCode;

fn main() -> ExitCode {
    occamy::launcher::main_with(occamy::Registry::with_builtins())
}
