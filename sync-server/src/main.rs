//! The `kompas-relay` binary: the program in `kompas_relay::command_line`.

fn main() -> std::process::ExitCode {
    kompas_relay::command_line::main()
}
