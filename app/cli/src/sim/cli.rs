//! `perp simulate` on the command line: progress bar, muted program logs, files, exit status.

use super::adl_policy::{policies_chart, summarize, PolicySummary};
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
    // one replay per policy, on the same seed; the first writes to --out, each other to a
    // subdirectory named after its policy
    let mut results = Vec::new();
    for (k, policy) in cfg.adl_policies.iter().enumerate() {
        let run_cfg = SimConfig { adl_policy: *policy, ..cfg.clone() };
        let mute = MuteStdout::new();
        let result = rt
            .block_on(simulate(&run_cfg, |done, total| {
                if let Some(b) = &bar {
                    b.set_length(total as u64);
                    b.set_position(done as u64);
                }
            }))
            .map_err(|e| CliError::Failed {
                message: format!("simulation failed ({}): {e}", policy.name()),
                details: None,
            })?;
        drop(mute);
        let dir = if k == 0 { a.out.clone() } else { a.out.join(policy.name()) };
        let files = result
            .write(&dir)
            .map_err(|e| CliError::Failed { message: format!("writing {}: {e}", dir.display()), details: None })?;
        results.push((result, files));
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (result, files) = &results[0];
    let mut summary = result.summary_json();
    let mut files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    if results.len() > 1 {
        let policies: Vec<PolicySummary> =
            results.iter().map(|(r, _)| summarize(r.summary.adl_policy, &r.summary.adl_passes)).collect();
        summary["adl_policies"] = json!(policies.iter().map(|p| p.line()).collect::<Vec<_>>());
        summary["adl_policies_table"] = json!(policies.iter().map(|p| p.json()).collect::<Vec<_>>());
        let chart = a.out.join("adl_policies.svg");
        std::fs::write(&chart, policies_chart(&policies))
            .map_err(|e| CliError::Failed { message: format!("writing {}: {e}", chart.display()), details: None })?;
        files.push(chart.display().to_string());
        for (r, f) in &results[1..] {
            files.extend(f.iter().map(|p| p.display().to_string()));
            let ok = r.summary.conservation.as_ref().map(|c| c.holds()).unwrap_or(false);
            summary[format!("conservation_{}", r.summary.adl_policy.name())] = json!(if ok { "ok" } else { "FAILED" });
        }
        // the first replay's summary.json gains the comparison
        let path = a.out.join("summary.json");
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        std::fs::write(&path, text)
            .map_err(|e| CliError::Failed { message: format!("writing {}: {e}", path.display()), details: None })?;
    }
    summary["files"] = json!(files);
    if let Some(ix) = &result.indexed {
        summary["indexed"] = ix.clone();
    }
    let ok = results.iter().all(|(r, _)| r.summary.conservation.as_ref().map(|c| c.holds()).unwrap_or(false));
    if !ok {
        return Err(CliError::Failed {
            message: "conservation check FAILED: vault balances differ from the ledgers".into(),
            details: Some(summary),
        });
    }
    Ok(Output::new("conservation", summary))
}
