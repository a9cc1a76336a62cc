//! `perp simulate` on the command line: progress bar, muted program logs, files, exit status.

use super::config::{SimArgs, SimConfig};
use super::run::simulate;
use crate::output::{CliError, Output};
use serde_json::json;

/// While alive, the process's standard output goes to /dev/null: the program runs in this
/// process and its `msg!` logs are `println!` off-chain, which would corrupt the summary (and
/// `--json`). Restored on drop.
struct MuteStdout {
    #[cfg(unix)]
    saved: i32,
}

impl MuteStdout {
    fn new() -> MuteStdout {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        {
            // SAFETY: plain POSIX descriptor calls on fd 1 and a descriptor we open and own
            unsafe {
                let saved = libc::dup(1);
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                if saved >= 0 && null >= 0 {
                    libc::dup2(null, 1);
                    libc::close(null);
                }
                MuteStdout { saved }
            }
        }
        #[cfg(not(unix))]
        MuteStdout {}
    }
}

impl Drop for MuteStdout {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        // SAFETY: restores the descriptor saved in `new`
        unsafe {
            if self.saved >= 0 {
                libc::dup2(self.saved, 1);
                libc::close(self.saved);
            }
        }
    }
}

/// `perp simulate`: runs, prints the summary, writes the files; fails (exit 1) if conservation fails.
pub fn run_cli(a: &SimArgs) -> Result<Output, CliError> {
    // solana-program-test logs every instruction at debug level unless told otherwise
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    let cfg = SimConfig::from_args(a)?;
    for p in &cfg.files {
        if !p.exists() {
            return Err(CliError::input(format!("price file {} not found", p.display())));
        }
    }
    let bar = if a.quiet {
        None
    } else {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} replaying [{bar:40}] {pos}/{len} min  {elapsed_precise}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Some(b)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed { message: e.to_string(), details: None })?;
    let mute = MuteStdout::new();
    let result = rt
        .block_on(simulate(&cfg, |done, total| {
            if let Some(b) = &bar {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
        }))
        .map_err(|e| CliError::Failed { message: format!("simulation failed: {e}"), details: None })?;
    drop(mute);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let files = result
        .write(&a.out)
        .map_err(|e| CliError::Failed { message: format!("writing {}: {e}", a.out.display()), details: None })?;
    let mut summary = result.summary_json();
    summary["files"] = json!(files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>());
    if let Some(ix) = &result.indexed {
        summary["indexed"] = ix.clone();
    }
    let ok = result.summary.conservation.map(|c| c.holds()).unwrap_or(false);
    if !ok {
        return Err(CliError::Failed {
            message: "conservation check FAILED: vault balances differ from the ledgers".into(),
            details: Some(summary),
        });
    }
    Ok(Output::new("conservation", summary))
}
