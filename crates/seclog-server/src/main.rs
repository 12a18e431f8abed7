//! The `seclog` binary: a thin shell over the seclog library.
//!
//! `main` returns the exit code of the command. A closed standard output (`seclog query |
//! head`) ends any command quietly with success, as in other Unix filters: the write error
//! it causes is recognised wherever it surfaces (an `io::Error` of kind `BrokenPipe`, also
//! inside a `serde_json::Error`, which does not expose the `io::Error` as its source).

use std::process::ExitCode;

use clap::Parser;

mod backend;
mod cli;
mod cmd;
mod output;
mod server;

/// mimalloc: events are allocated by the threads that log them and freed by the writer
/// thread; glibc's allocator serialises those cross-thread frees on an arena lock.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SECLOG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cmd::run(args) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("seclog: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether the error was caused by writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
    })
}
