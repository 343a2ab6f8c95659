//! The `frontdesk` binary: parse the command line, then hand over to [`frontdesk_server::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    frontdesk_server::cli::run(frontdesk_server::config::Cli::parse_args())
}
