fn main() -> std::process::ExitCode {
    renkei::cli::main()
}
