fn main() -> std::process::ExitCode {
    statibeat::cli::main()
}
