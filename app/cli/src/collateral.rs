//! Listed collateral in the terminal: `perp collateral list|refresh`, `perp account deposit|withdraw
//! --mint`, the `collateral` entries of a deployment config (`perp admin init`), and the remaining
//! accounts every trader command of an account holding collateral needs.

use crate::output::{CliError, Output};
use crate::trader::{associated_token_account, chain_err, need, parse_key, s};
use perp::state::{oracle_kind, Collateral, CollateralParams, OracleParams};
use perp_client::chain::{fetch_collaterals, fetch_margin, fetch_market, Chain, SendOptions};
use perp_client::collateral as cix;
use perp_client::collateral_view::Collaterals;
use perp_client::{ix, pda, Instruction, MarginAccount, Pubkey};
use perp_core::units::{parse_decimal, Decimal};
use perp_core::{Price, Quote, Rate};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

#[derive(clap::Subcommand, Debug)]
pub enum CollateralCmd {
    /// The listed collateral mints: price, weights, size discount, cap, deposits, status.
    List,
    /// Refresh listed collateral prices from their oracles (anyone may; keepers do it).
    Refresh {
        /// One collateral (symbol, index or mint); default: all.
        #[arg(long)]
        mint: Option<String>,
    },
}

/// A listed collateral by symbol (case-insensitive), index or mint address.
pub fn resolve(collaterals: &Collaterals, key: &str) -> Result<Collateral, CliError> {
    let found = collaterals.values().find(|c| {
        c.name_str().eq_ignore_ascii_case(key)
            || key.parse::<u16>().is_ok_and(|i| i == c.collateral_index)
            || key.parse::<Pubkey>().is_ok_and(|k| k == c.mint)
    });
    found.copied().ok_or_else(|| {
        let names: Vec<String> = collaterals.values().map(|c| c.name_str().to_string()).collect();
        CliError::input(format!(
            "--mint {key}: not a listed collateral (listed: {}); the settlement mint needs no --mint",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ))
    })
}

fn status_name(s: u8) -> &'static str {
    match s {
        0 => "active",
        1 => "reduce-only",
        _ => "withdraw-only",
    }
}

/// A raw token amount in whole tokens.
pub fn tokens(amount: u64, decimals: u8) -> String {
    Decimal::new(amount as i128, decimals as u32).to_string()
}

pub async fn run<C: Chain>(
    c: &C,
    signer: Option<&Keypair>,
    cmd: &CollateralCmd,
    opts: &SendOptions,
) -> Result<Output, CliError> {
    let collaterals = fetch_collaterals(c).await.map_err(chain_err)?;
    match cmd {
        CollateralCmd::List => {
            let now = c.unix_time().await.map_err(chain_err)?;
            let rows: Vec<Value> = collaterals
                .values()
                .map(|col| {
                    json!({
                        "index": col.collateral_index,
                        "name": col.name_str(),
                        "mint": col.mint.to_string(),
                        "decimals": col.decimals,
                        "price": s(Price(col.last_price)),
                        "price_age_s": now - col.last_price_time,
                        "twap": col.twap_now(now).map(s).unwrap_or(Value::Null),
                        "initial_weight": s(Rate(col.initial_weight)),
                        "maintenance_weight": s(Rate(col.maintenance_weight)),
                        "imf": s(Rate(col.imf)),
                        "liquidation_discount": s(Rate(col.liquidation_discount)),
                        "deposits": tokens(col.total_deposits, col.decimals),
                        "deposit_cap": tokens(col.deposit_cap, col.decimals),
                        "status": status_name(col.status),
                        "insurance_market": col.insurance_market,
                    })
                })
                .collect();
            Ok(Output::new("collateral", json!({ "collateral": rows.len(), "listed": rows })))
        }
        CollateralCmd::Refresh { mint } => {
            let kp = need(signer)?;
            let which: Vec<Collateral> = match mint {
                Some(m) => vec![resolve(&collaterals, m)?],
                None => collaterals.values().copied().collect(),
            };
            let ixs: Vec<Instruction> = which.iter().map(refresh_ix).collect();
            let sig = c.send(&ixs, &[kp], opts).await.map_err(chain_err)?;
            Ok(Output::new("refreshed", json!({ "refreshed": ixs.len(), "signature": sig })))
        }
    }
}

pub fn refresh_ix(c: &Collateral) -> Instruction {
    cix::refresh(c)
}

/// The account's margin checks need its listed collateral among the remaining accounts: appends
/// them to the last instruction.
pub fn pass_collateral(acct: &MarginAccount, ixs: &mut [Instruction]) {
    if let Some(last) = ixs.last_mut() {
        last.accounts.extend(cix::collateral_metas(&cix::held(acct)));
    }
}

/// Refreshes (in a transaction of their own) the cached price of every collateral the account
/// holds that is older than half its `max_age`, so a preview and the program both see a fresh one;
/// returns the registry as it is then.
pub async fn refresh_stale<C: Chain>(
    c: &C,
    kp: &Keypair,
    acct: &MarginAccount,
    opts: &SendOptions,
) -> Result<Collaterals, CliError> {
    let collaterals = fetch_collaterals(c).await.map_err(chain_err)?;
    let now = c.unix_time().await.map_err(chain_err)?;
    let stale: Vec<Instruction> = cix::held(acct)
        .iter()
        .filter_map(|i| collaterals.get(i))
        .filter(|col| col.last_price == 0 || now - col.last_price_time > (col.max_age / 2).max(1))
        .map(refresh_ix)
        .collect();
    if stale.is_empty() {
        return Ok(collaterals);
    }
    // best effort: a late feed must not keep a trader from reducing (the program counts a late
    // price as cached for reductions and refuses new risk on it with its own reason)
    if let Err(e) = c.send(&stale, &[kp], opts).await {
        eprintln!("note: refreshing the collateral prices failed ({e}); going on with the cached ones");
        return Ok(collaterals);
    }
    fetch_collaterals(c).await.map_err(chain_err)
}

/// Refreshes of every collateral the account holds (withdrawals need them within a few slots).
pub fn refreshes(acct: &MarginAccount, collaterals: &Collaterals) -> Vec<Instruction> {
    cix::held(acct).iter().filter_map(|i| collaterals.get(i)).map(refresh_ix).collect()
}

/// `perp account deposit|withdraw --mint M --amount X`.
#[allow(clippy::too_many_arguments)]
pub async fn move_collateral<C: Chain>(
    c: &C,
    signer: Option<&Keypair>,
    id: u16,
    mint: &str,
    amount: &str,
    token: Option<&str>,
    deposit: bool,
    opts: &SendOptions,
) -> Result<Output, CliError> {
    let kp = need(signer)?;
    let collaterals = fetch_collaterals(c).await.map_err(chain_err)?;
    let col = resolve(&collaterals, mint)?;
    let raw = parse_decimal(amount, col.decimals as u32).map_err(|e| {
        CliError::input(format!("--amount '{amount}': {e} ({} has {} decimals)", col.name_str(), col.decimals))
    })?;
    let raw = u64::try_from(raw)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| CliError::input(format!("--amount '{amount}': must be positive")))?;
    let token = match token {
        Some(t) => parse_key("token", t)?,
        None => associated_token_account(&kp.pubkey(), &col.mint),
    };
    let key = pda::margin_account(&kp.pubkey(), id);
    let acct = fetch_margin(c, &key).await.map_err(chain_err)?;
    let ixs = if deposit {
        vec![cix::deposit_collateral(kp.pubkey(), key, col.collateral_index, &col.mint, token, raw)]
    } else {
        // every cross market and every collateral held must be refreshed within a few slots
        let markets = ix::cross_markets(&acct, None);
        let mut v = Vec::new();
        for i in &markets {
            let m = fetch_market(c, *i).await.map_err(chain_err)?;
            v.push(ix::update_funding(*i, &ix::market_oracles(&m)));
        }
        v.extend(refreshes(&acct, &collaterals));
        if !cix::held(&acct).contains(&col.collateral_index) {
            return Err(CliError::input(format!("the account holds no {}", col.name_str())));
        }
        let others: Vec<u16> = cix::held(&acct).into_iter().filter(|i| *i != col.collateral_index).collect();
        v.push(cix::withdraw_collateral(
            kp.pubkey(),
            key,
            col.collateral_index,
            &col.mint,
            token,
            raw,
            &markets,
            &others,
        ));
        v
    };
    let sig = c.send(&ixs, &[kp], opts).await.map_err(chain_err)?;
    let after = fetch_margin(c, &key).await.map_err(chain_err)?;
    Ok(Output::new(
        "balance",
        json!({
            "balance": tokens(after.collateral_balance(col.collateral_index), col.decimals),
            "collateral": col.name_str(),
            "cross_collateral": s(Quote(after.cross_collateral)),
            "signature": sig,
        }),
    ))
}

fn get<'a>(v: &'a Value, k: &str, ctx: &str) -> Result<&'a Value, CliError> {
    v.get(k).ok_or_else(|| CliError::input(format!("{ctx}: missing \"{k}\"")))
}

fn text(v: &Value, k: &str, ctx: &str) -> Result<String, CliError> {
    match get(v, k, ctx)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(CliError::input(format!("{ctx}: \"{k}\" must be a string or number"))),
    }
}

fn rate(v: &Value, k: &str, ctx: &str) -> Result<i64, CliError> {
    Rate::parse(&text(v, k, ctx)?).map(|r| r.0).map_err(|e| CliError::input(format!("{ctx}: \"{k}\": {e}")))
}

fn int(v: &Value, k: &str, ctx: &str) -> Result<i64, CliError> {
    text(v, k, ctx)?.parse().map_err(|_| CliError::input(format!("{ctx}: \"{k}\" must be an integer")))
}

/// One `collateral` entry of a deployment config: `(mint, params)`. Amounts in whole tokens
/// (`deposit_cap`) need the mint's `decimals`, stated in the entry and checked at listing.
pub fn params_from_json(v: &Value, ctx: &str) -> Result<(Pubkey, u8, CollateralParams), CliError> {
    let name_s = text(v, "name", ctx)?;
    if name_s.is_empty() || name_s.len() > 16 {
        return Err(CliError::input(format!("{ctx}: name must be 1 to 16 bytes")));
    }
    let mut name = [0u8; 16];
    name[..name_s.len()].copy_from_slice(name_s.as_bytes());
    let mint = parse_key("mint", &text(v, "mint", ctx)?)?;
    let decimals = u8::try_from(int(v, "decimals", ctx)?).map_err(|_| CliError::input(format!("{ctx}: decimals")))?;
    let mut oracles = Vec::new();
    for (i, o) in get(v, "oracles", ctx)?.as_array().into_iter().flatten().enumerate() {
        let octx = format!("{ctx} oracle {i}");
        let kind = match text(o, "kind", &octx)?.as_str() {
            "legacy" => oracle_kind::PYTH_LEGACY,
            "pull" => oracle_kind::PYTH_PULL,
            k => return Err(CliError::input(format!("{octx}: kind '{k}' (legacy or pull)"))),
        };
        let feed_id = match o.get("feed_id") {
            Some(Value::String(h)) => crate::admin::parse_feed_id(h, &octx)?,
            _ => [0; 32],
        };
        oracles.push(OracleParams { kind, key: parse_key("key", &text(o, "key", &octx)?)?, feed_id, weight: 1 });
    }
    let cap = parse_decimal(&text(v, "deposit_cap", ctx)?, decimals as u32)
        .ok()
        .and_then(|c| u64::try_from(c).ok())
        .ok_or_else(|| CliError::input(format!("{ctx}: deposit_cap must be a token amount")))?;
    let status = match v.get("status").and_then(|s| s.as_str()).unwrap_or("active") {
        "active" => 0,
        "reduce-only" => 1,
        "withdraw-only" => 2,
        x => return Err(CliError::input(format!("{ctx}: status '{x}'"))),
    };
    let params = CollateralParams {
        name,
        oracles,
        max_age: int(v, "max_age_s", ctx)?,
        max_conf: rate(v, "max_conf", ctx)?,
        max_deviation: rate(v, "max_deviation", ctx)?,
        min_sources: int(v, "min_sources", ctx)? as u8,
        index_method: 0,
        allow_partial_verification: false,
        min_signatures: 0,
        sample_period: int(v, "sample_period_s", ctx)?,
        initial_weight: rate(v, "initial_weight", ctx)?,
        maintenance_weight: rate(v, "maintenance_weight", ctx)?,
        imf: rate(v, "imf", ctx)?,
        liquidation_discount: rate(v, "liquidation_discount", ctx)?,
        liquidator_share: rate(v, "liquidator_share", ctx)?,
        deposit_cap: cap,
        status,
        insurance_market: int(v, "insurance_market", ctx)? as u16,
    };
    Ok((mint, decimals, params))
}

/// Lists the config's collateral entries not listed yet, in order (propose, then execute while
/// the exchange's delay is 0; behind a timelock, proposes the next one only).
pub async fn list_from_config<C: Chain>(
    c: &C,
    admin: &Keypair,
    config: &Value,
    dry_run: bool,
    opts: &SendOptions,
    done: &mut Vec<Value>,
    proposed: &mut Vec<Value>,
) -> Result<(), CliError> {
    let Some(entries) = config.get("collateral").and_then(|v| v.as_array()) else {
        return Ok(());
    };
    let err = |e: perp_client::ChainError| CliError::Failed { message: e.to_string(), details: None };
    let (mut count, delay, mut next_id) = match perp_client::chain::fetch_exchange(c).await {
        Ok(ex) => (ex.collateral_count, ex.timelock_delay, ex.proposal_count),
        Err(_) if dry_run => (0, 0, 0),
        Err(e) => return Err(err(e)),
    };
    for (i, e) in entries.iter().enumerate() {
        let (mint, decimals, params) = params_from_json(e, &format!("collateral {i}"))?;
        let ci = i as u16 + 1;
        if ci <= count {
            continue;
        }
        if !dry_run {
            if let Some(m) = c.account(&mint).await.map_err(err)? {
                if m.data.get(44) != Some(&decimals) {
                    return Err(CliError::input(format!(
                        "collateral {i}: mint {mint} does not have {decimals} decimals"
                    )));
                }
            }
        }
        let name = String::from_utf8_lossy(&params.name).trim_end_matches('\0').to_string();
        let action = perp::state::AdminAction::ListCollateral { collateral_index: ci, mint, params };
        if !dry_run {
            c.send(&[ix::propose(admin.pubkey(), next_id, action)], &[admin], opts).await.map_err(err)?;
        }
        if delay > 0 {
            proposed.push(json!({ "proposal": next_id, "collateral": ci, "name": name, "executable_in_s": delay }));
            break;
        }
        if !dry_run {
            let x = cix::execute_list_collateral(admin.pubkey(), next_id, admin.pubkey(), mint, ci);
            c.send(&[x], &[admin], opts).await.map_err(err)?;
        }
        next_id += 1;
        count += 1;
        done.push(json!({ "created": name, "collateral": ci, "mint": mint.to_string() }));
    }
    Ok(())
}
