//! The `actsweep` binary: everything lives in the library; see [`actsweep::cli`].

fn main() -> std::process::ExitCode {
    actsweep::cli::main()
}
