//! The `kompas-relay` program, built as a binary of this package so that the end-to-end tests
//! find it through cargo (`CARGO_BIN_EXE_e2e-kompas-relay`) instead of building the relay package
//! themselves.

fn main() -> std::process::ExitCode {
    kompas_relay::command_line::main()
}
