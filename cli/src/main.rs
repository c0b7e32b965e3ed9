//! The `kompas` binary: the command line of the `kompas_cli` library.

fn main() -> std::process::ExitCode {
    kompas_cli::main()
}
