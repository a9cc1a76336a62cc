//! What a trader is told when a command fails: what happened and what to do about it. The
//! command's context (the cluster URL, the fee payer) is set once by `main`, so every failure of
//! the chain can name them.

use crate::output::CliError;
use perp_client::chain::ChainError;
use perp_client::{pda, Pubkey};
use std::sync::Mutex;

#[derive(Clone, Debug, Default)]
struct Context {
    rpc: String,
    payer: Option<Pubkey>,
}

static CONTEXT: Mutex<Option<Context>> = Mutex::new(None);

/// The cluster the command talks to (named in the messages).
pub fn set_rpc(rpc: &str) {
    CONTEXT.lock().unwrap().get_or_insert_with(Context::default).rpc = rpc.to_string();
}

/// The keypair that signs and pays (named when it cannot pay).
pub fn set_payer(payer: Pubkey) {
    CONTEXT.lock().unwrap().get_or_insert_with(Context::default).payer = Some(payer);
}

fn context() -> Context {
    CONTEXT.lock().unwrap().clone().unwrap_or_default()
}

/// No node at the URL: what `--rpc` says and how to start one.
pub fn unreachable(rpc: &str, cause: &str) -> String {
    let short = if cause.contains("error sending request") || cause.contains("connection refused") {
        "connection refused or no route"
    } else {
        cause
    };
    format!(
        "no cluster answers at {rpc} ({short}). Start a local one with `perp localnet start`, \
         or point to another with --rpc URL"
    )
}

fn is_unreachable(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    // a read's error carries only reqwest's "error sending request" (the node did not answer it);
    // a send that reached the node says "request failed after connecting" (see `rpc::classify`)
    !m.contains("request failed after connecting")
        && ["connection refused", "connect error", "dns error", "no route", "error sending request"]
            .iter()
            .any(|x| m.contains(x))
}

fn is_timeout(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    m.contains("timed out") || m.contains("timeout")
}

/// What to do about the program errors a trader meets most (by the error's name).
pub fn program_hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "InsufficientMargin" => "deposit more (`perp account deposit --amount N`) or trade smaller (`--dry-run` previews)",
        "WithdrawExceedsFree" => "withdraw at most `withdrawable` of `perp account show`",
        "MarketPaused" => "the market is paused: `perp market show --market M` says until when; try again then",
        "OperationPaused" => "the exchange paused this operation; try again later",
        "MarketReduceOnly" => "the market only accepts orders that reduce a position (--reduce-only)",
        "ReduceOnlyViolation" => "a reduce-only order must not grow or flip the position",
        "TooFewSources" | "StaleCachedIndex" | "IndexFallbackTooOld" => {
            "the market's price feeds are late or disagree: `perp market show --market M` names each source and why it was dropped"
        }
        "PositionTooSmall" => "a position opened or increased must be at least the market's `min_position` (`perp market show`)",
        "InvalidOrderSize" => "the size must be positive (and fit in 64 bits)",
        "InsufficientLiquidity" => "the vAMM cannot fill that much: trade smaller",
        "SlippageExceeded" => "the price moved past your --limit; preview again with --dry-run",
        "AccountNotEmpty" | "OrdersOpen" => "close positions and cancel orders first (`perp position list`, `perp order list`)",
        "InsufficientCollateralBalance" => "you hold less of that collateral (`perp account show`)",
        _ => return None,
    })
}

/// A chain failure as a message that says what happened and what to do.
pub fn chain_error(e: ChainError) -> CliError {
    let ctx = context();
    let rpc = if ctx.rpc.is_empty() { "the --rpc URL".to_string() } else { ctx.rpc.clone() };
    let payer = ctx.payer.map(|p| p.to_string()).unwrap_or_else(|| "the --keypair".into());
    let message = match &e {
        ChainError::Transport(m) if is_timeout(m) => format!(
            "the node at {rpc} did not answer in time ({m}): it may be overloaded. If a transaction was on its \
             way it may still land: check (`perp account show`, `perp order list`) before retrying, or use another node with --rpc URL"
        ),
        ChainError::Transport(m) if is_unreachable(m) => unreachable(&rpc, m),
        ChainError::Transport(m) => {
            format!(
                "the node at {rpc} failed: {m}. If a transaction was on its way it may still land: check \
                 (`perp account show`, `perp order list`) before retrying, or use another node with --rpc URL"
            )
        }
        ChainError::Failed { reason, .. }
            if matches!(
                reason.as_str(),
                "AccountNotFound" | "InsufficientFundsForFee" | "InsufficientFundsForRent"
            ) =>
        {
            format!(
                "the fee payer {payer} has no SOL (or too little) to pay for the transaction ({reason}): fund it \
                 (on a local cluster: `perp localnet faucet`; elsewhere send it SOL); nothing was done"
            )
        }
        ChainError::Failed { program_error: Some(p), .. } => match program_hint(&p.name) {
            Some(h) => format!("{e}: {h}"),
            None => e.to_string(),
        },
        ChainError::Account(m) => {
            let own = ctx.payer.and_then(|p| {
                (0..16u16).find(|id| m == &format!("account {} not found", pda::margin_account(&p, *id)))
            });
            match own {
                Some(id) => format!(
                    "{payer} has no margin account{}: create it with `perp account create`, then deposit \
                     with `perp account deposit --amount N`",
                    if id == 0 { String::new() } else { format!(" with --id {id}") }
                ),
                None => m.clone(),
            }
        }
        _ => e.to_string(),
    };
    CliError::Failed { message, details: None }
}
