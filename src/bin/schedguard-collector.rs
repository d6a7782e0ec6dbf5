//! `schedguard-collector`: the fleet endpoint, run as `schedguard collector`
//! (which hands its arguments over unchanged). A separate executable so
//! that the agent's, which every control-plane host runs, holds none of the
//! collector's code: the collector's SQLite, PostgreSQL client and
//! dashboard would otherwise be a fifth of the agent's mapped binary.

use clap::Parser;
use schedguard::collector::config::CollectorArgs;
use schedguard::exit;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "schedguard-collector",
    bin_name = "schedguard collector",
    version,
    about = "The fleet endpoint: store every node's reports, answer for the fleet"
)]
struct Cli {
    #[command(flatten)]
    args: CollectorArgs,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    schedguard::logging::init();
    match schedguard::collector::run(cli.args) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(exit::INCOMPLETE)
        }
    }
}
