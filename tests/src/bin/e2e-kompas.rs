//! The `kompas` program, built as a binary of this package so that the end-to-end tests find it
//! through cargo (`CARGO_BIN_EXE_e2e-kompas`) instead of building the cli package themselves.

fn main() -> std::process::ExitCode {
    kompas_cli::main()
}
