//! `hfhub`: the command line. The only crate that prints to the terminal.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "hfhub",
    version,
    about = "Download, inspect and serve the Hugging Face hub cache"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print where the hub cache, assets cache and token file are, as the environment selects them.
    Env,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Env => {
            let locations = hub_cache::env::Env::from_process().locations();
            println!("HF_HOME: {}", locations.hf_home.display());
            println!("HF_HUB_CACHE: {}", locations.hub_cache.display());
            println!("HF_ASSETS_CACHE: {}", locations.assets_cache.display());
            println!("HF_TOKEN_PATH: {}", locations.token_path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
