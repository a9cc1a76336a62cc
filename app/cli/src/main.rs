//! `perp`: the command traders, keepers and integrators run.

use perp_cli::math;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "perp",
    version,
    about = "Perpetual swaps on Solana: calculator, trader CLI, keeper and simulator"
)]
struct Cli {
    /// Print one JSON object (numbers as decimal strings) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Risk calculator: index, premium, funding, mark, margin, liquidation price, ADL score, vAMM.
    #[command(subcommand)]
    Math(math::MathCmd),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        2
                    } else {
                        0
                    },
                );
            }
            // one line: clap's first line without its "error: " prefix
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("error: {}", first.trim_start_matches("error: "));
            std::process::exit(2);
        }
    };
    let result = match &cli.cmd {
        Cmd::Math(m) => math::run(m),
    };
    match result {
        Ok(out) => out.print(cli.json),
        Err(e) => {
            e.report(cli.json);
            std::process::exit(e.exit_code());
        }
    }
}
