//! `perp admin init --config FILE`: initialises the exchange and creates its markets from a JSON
//! deployment config (see `migrations/`), then raises the timelock to the config's `timelock_s`.
//! Idempotent: an existing exchange or market is left as is. Markets are created through the
//! timelock (propose, then execute); on a fresh exchange its delay is 0 until the end of `init`,
//! afterwards a new market is proposed and `perp admin execute --proposal ID` runs it once the
//! delay has passed.

use crate::math::parse_tiers;
use crate::output::{CliError, Output};
use perp::instructions::ExchangeParams;
use perp::state::{oracle_kind, AdminAction, MarketParams, OracleParams, Proposal, TierParams};
use perp_client::chain::{fetch_exchange, Chain, SendOptions};
use perp_client::{ix, pda, Pubkey};
use perp_core::units::parse_decimal;
use perp_core::{Base, Price, Quote, Rate};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

#[derive(clap::Subcommand, Debug)]
pub enum AdminCmd {
    /// Initialise the exchange and create the markets of a deployment config.
    Init {
        #[arg(long)]
        config: std::path::PathBuf,
        /// Print what would be created without sending.
        #[arg(long)]
        dry_run: bool,
    },
    /// Execute a timelocked proposal whose delay has passed (anyone may).
    Execute {
        #[arg(long)]
        proposal: u64,
    },
}

fn bad(msg: String) -> CliError {
    CliError::input(msg)
}

fn get<'a>(v: &'a Value, k: &str, ctx: &str) -> Result<&'a Value, CliError> {
    v.get(k).ok_or_else(|| bad(format!("{ctx}: missing \"{k}\"")))
}

fn string(v: &Value, k: &str, ctx: &str) -> Result<String, CliError> {
    match get(v, k, ctx)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(bad(format!("{ctx}: \"{k}\" must be a string or number"))),
    }
}

fn int(v: &Value, k: &str, ctx: &str) -> Result<i64, CliError> {
    string(v, k, ctx)?.parse().map_err(|_| bad(format!("{ctx}: \"{k}\" must be an integer")))
}

fn rate(v: &Value, k: &str, ctx: &str) -> Result<i64, CliError> {
    Rate::parse(&string(v, k, ctx)?).map(|r| r.0).map_err(|e| bad(format!("{ctx}: \"{k}\": {e}")))
}

/// A market's `insurance_seed` (quote, optional), raw.
pub fn insurance_seed(v: &Value, ctx: &str) -> Result<Option<u64>, CliError> {
    if v.get("insurance_seed").is_none() {
        return Ok(None);
    }
    let q = Quote::parse(&string(v, "insurance_seed", ctx)?).map_err(|e| bad(format!("{ctx}: insurance_seed: {e}")))?;
    if q.0 < 0 {
        return Err(bad(format!("{ctx}: insurance_seed must be >= 0")));
    }
    Ok(Some(q.0 as u64))
}

/// An optional rate: `default` (raw) when the key is absent.
fn opt_rate(v: &Value, k: &str, default: i64, ctx: &str) -> Result<i64, CliError> {
    if v.get(k).is_none() {
        return Ok(default);
    }
    rate(v, k, ctx)
}

fn key(s: &str, ctx: &str) -> Result<Pubkey, CliError> {
    s.parse().map_err(|_| bad(format!("{ctx}: '{s}' is not a base58 public key")))
}

/// The `PriceUpdateV2` account the Pyth push oracle keeps for a feed (shard 0).
pub fn pyth_push_account(feed_id: &[u8; 32], shard: u16) -> Pubkey {
    Pubkey::find_program_address(&[&shard.to_le_bytes(), feed_id], &pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID).0
}

pub fn parse_feed_id(s: &str, ctx: &str) -> Result<[u8; 32], CliError> {
    let h = s.trim_start_matches("0x");
    if h.len() != 64 {
        return Err(bad(format!("{ctx}: feed id must be 32 bytes of hex")));
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).map_err(|_| bad(format!("{ctx}: feed id is not hex")))?;
    }
    Ok(out)
}

/// One market of the config: `(params, base reserve, peg)`.
pub fn market_from_json(v: &Value, ctx: &str) -> Result<(MarketParams, u128, Price), CliError> {
    let name_s = string(v, "name", ctx)?;
    if name_s.len() > 16 {
        return Err(bad(format!("{ctx}: name longer than 16 bytes")));
    }
    let mut name = [0u8; 16];
    name[..name_s.len()].copy_from_slice(name_s.as_bytes());
    let mut oracles = Vec::new();
    for (i, o) in get(v, "oracles", ctx)?
        .as_array()
        .ok_or_else(|| bad(format!("{ctx}: oracles must be a list")))?
        .iter()
        .enumerate()
    {
        let octx = format!("{ctx} oracle {i}");
        let kind = match string(o, "kind", &octx)?.as_str() {
            "legacy" => oracle_kind::PYTH_LEGACY,
            "pull" => oracle_kind::PYTH_PULL,
            k => return Err(bad(format!("{octx}: kind '{k}' (use legacy or pull)"))),
        };
        let fid = match o.get("feed_id") {
            Some(f) => parse_feed_id(f.as_str().unwrap_or(""), &octx)?,
            None if kind == oracle_kind::PYTH_LEGACY => [0; 32],
            None => return Err(bad(format!("{octx}: a pull oracle needs feed_id"))),
        };
        let k = match o.get("key") {
            Some(k) => key(k.as_str().unwrap_or(""), &octx)?,
            None if kind == oracle_kind::PYTH_PULL => pyth_push_account(&fid, 0),
            None => return Err(bad(format!("{octx}: a legacy oracle needs key"))),
        };
        let weight = o.get("weight").map(|w| w.as_u64().unwrap_or(1)).unwrap_or(1);
        oracles.push(OracleParams { kind, key: k, feed_id: fid, weight });
    }
    let tiers: Vec<String> = get(v, "tiers", ctx)?
        .as_array()
        .ok_or_else(|| bad(format!("{ctx}: tiers must be a list of CAP:IMR:MMR")))?
        .iter()
        .map(|t| t.as_str().unwrap_or("").to_string())
        .collect();
    let tiers: Vec<TierParams> =
        parse_tiers(&tiers)?.iter().map(|t| TierParams { cap: t.cap.0, imr: t.imr.0, mmr: t.mmr.0 }).collect();
    let p = MarketParams {
        name,
        oracles,
        max_age: int(v, "max_age_s", ctx)?,
        max_conf: rate(v, "max_conf", ctx)?,
        max_deviation: rate(v, "max_deviation", ctx)?,
        min_sources: int(v, "min_sources", ctx)? as u8,
        index_method: if string(v, "index_method", ctx).unwrap_or_else(|_| "median".into()) == "vwap" { 1 } else { 0 },
        allow_partial_verification: v.get("allow_partial_verification").and_then(Value::as_bool).unwrap_or(false),
        min_signatures: v.get("min_signatures").map(|_| int(v, "min_signatures", ctx)).transpose()?.unwrap_or(13) as u8,
        fallback_max_age: int(v, "fallback_max_age_s", ctx)?,
        funding_interval: int(v, "funding_interval_s", ctx)?,
        sample_period: int(v, "sample_period_s", ctx)?,
        interest: rate(v, "interest", ctx)?,
        funding_clamp: rate(v, "funding_clamp", ctx)?,
        funding_cap: rate(v, "funding_cap", ctx)?,
        mark_method: if string(v, "mark_method", ctx).unwrap_or_else(|_| "funding-basis".into()) == "impact-median" {
            1
        } else {
            0
        },
        tiers,
        impact_notional: Quote::parse(&string(v, "impact_notional", ctx)?)
            .map_err(|e| bad(format!("{ctx}: impact_notional: {e}")))?
            .0,
        max_leverage: int(v, "max_leverage", ctx)? as u16,
        taker_fee: rate(v, "taker_fee", ctx)?,
        liquidation_fee: rate(v, "liquidation_fee", ctx)?,
        liquidator_share: rate(v, "liquidator_share", ctx)?,
        liquidation_buffer: rate(v, "liquidation_buffer", ctx)?,
        min_position: Base::parse(&string(v, "min_position", ctx)?)
            .map_err(|e| bad(format!("{ctx}: min_position: {e}")))?
            .0,
        delegate_band: rate(v, "delegate_band", ctx)?,
        withdraw_max_age: int(v, "withdraw_max_age_s", ctx)?,
        repeg_budget: rate(v, "repeg_budget", ctx)?,
        repeg_threshold: rate(v, "repeg_threshold", ctx)?,
        // oracle guard rails and the open-interest bound: optional, with the defaults stated in
        // the README (0.5% confidence, 1% from the moving average, no bound)
        liquidation_max_conf: opt_rate(v, "liquidation_max_conf", 5_000_000, ctx)?,
        max_ema_divergence: opt_rate(v, "max_ema_divergence", 10_000_000, ctx)?,
        max_oi_per_insurance: opt_rate(v, "max_oi_per_insurance", 0, ctx)?,
        // resting orders: optional, defaults in the README (0.02 quote reward, 1% band, 2%
        // divergence)
        filler_reward: match v.get("filler_reward") {
            None => 20_000,
            Some(_) => {
                Quote::parse(&string(v, "filler_reward", ctx)?)
                    .map_err(|e| bad(format!("{ctx}: filler_reward: {e}")))?
                    .0
            }
        },
        order_band: opt_rate(v, "order_band", 10_000_000, ctx)?,
        trigger_max_divergence: opt_rate(v, "trigger_max_divergence", 20_000_000, ctx)?,
        // auto-deleveraging: "ranked" (default) or "pro-rata"
        adl_policy: match v.get("adl_policy").map(|p| p.as_str()) {
            None | Some(Some("ranked")) => 0,
            Some(Some("pro-rata")) => 1,
            Some(_) => return Err(bad(format!("{ctx}: adl_policy must be \"ranked\" or \"pro-rata\""))),
        },
    };
    p.validate().map_err(|e| bad(format!("{ctx}: {e}")))?;
    let reserve = parse_decimal(&string(v, "vamm_base_reserve", ctx)?, 9)
        .map_err(|e| bad(format!("{ctx}: vamm_base_reserve: {e}")))?;
    let peg = Price::parse(&string(v, "vamm_peg", ctx)?).map_err(|e| bad(format!("{ctx}: vamm_peg: {e}")))?;
    Ok((p, u128::try_from(reserve).map_err(|_| bad(format!("{ctx}: vamm_base_reserve must be positive")))?, peg))
}

pub async fn init<C: Chain>(
    c: &C,
    admin: &Keypair,
    config: &Value,
    dry_run: bool,
    opts: &SendOptions,
) -> Result<Output, CliError> {
    let mint = key(&string(config, "collateral_mint", "config")?, "collateral_mint")?;
    let params = ExchangeParams {
        fee_insurance_share: rate(config, "fee_insurance_share", "config")?,
        pyth_legacy_program: key(&string(config, "pyth_legacy_program", "config")?, "pyth_legacy_program")?,
        pyth_receiver_program: key(&string(config, "pyth_receiver_program", "config")?, "pyth_receiver_program")?,
        timelock_delay: 0,
    };
    let timelock = int(config, "timelock_s", "config")?;
    if !(0..=perp::state::MAX_TIMELOCK).contains(&timelock) {
        return Err(bad(format!("config: timelock_s must be in 0..={}", perp::state::MAX_TIMELOCK)));
    }
    let markets: Vec<(MarketParams, u128, Price)> = get(config, "markets", "config")?
        .as_array()
        .ok_or_else(|| bad("config: markets must be a list".into()))?
        .iter()
        .enumerate()
        .map(|(i, m)| market_from_json(m, &format!("market {i}")))
        .collect::<Result<_, _>>()?;
    let err = |e: perp_client::ChainError| CliError::Failed { message: e.to_string(), details: None };
    let mut done = Vec::new();
    let existing = c.account(&pda::exchange()).await.map_err(err)?.is_some();
    if !existing {
        if !dry_run {
            c.send(&[ix::initialize_exchange(admin.pubkey(), mint, params)], &[admin], opts).await.map_err(err)?;
        }
        done.push(json!({ "created": "exchange", "address": pda::exchange().to_string() }));
    }
    let (count, delay, mut next_id) = if existing {
        let ex = fetch_exchange(c).await.map_err(err)?;
        (ex.market_count, ex.timelock_delay, ex.proposal_count)
    } else {
        (0, 0, 0)
    };
    let mut proposed = Vec::new();
    for (i, (p, reserve, peg)) in markets.into_iter().enumerate() {
        let i = i as u16;
        if i < count {
            continue;
        }
        let name = String::from_utf8_lossy(&p.name).trim_end_matches('\0').to_string();
        let oracles: Vec<String> = p.oracles.iter().map(|o| o.key.to_string()).collect();
        let action = AdminAction::CreateMarket { market_index: i, params: p, base_reserve: reserve, peg: peg.0 };
        if delay > 0 {
            // behind the timelock: propose now, execute later
            if !dry_run {
                c.send(&[ix::propose(admin.pubkey(), next_id, action)], &[admin], opts).await.map_err(err)?;
            }
            proposed.push(json!({ "proposal": next_id, "market": i, "name": name, "executable_in_s": delay }));
            break; // markets are created in order: the next one is proposed after this one exists
        }
        if !dry_run {
            c.send(&[ix::propose(admin.pubkey(), next_id, action)], &[admin], opts).await.map_err(err)?;
            let e = ix::execute_create_market(admin.pubkey(), next_id, admin.pubkey(), i);
            c.send(&[e], &[admin], opts).await.map_err(err)?;
        }
        next_id += 1;
        done.push(json!({ "created": name, "market": i, "address": pda::market(i).to_string(), "oracles": oracles }));
    }
    // each market's insurance seed (N-4: no market starts with an empty fund), from the signer's
    // associated token account, topped up to the seed by what it has received so far (idempotent)
    for (i, m) in get(config, "markets", "config")?.as_array().into_iter().flatten().enumerate() {
        let Some(seed) = insurance_seed(m, &format!("market {i}"))? else {
            continue;
        };
        let Ok(market) = perp_client::chain::fetch_market(c, i as u16).await else {
            continue; // not created yet (behind the timelock): seeded by the run that creates it
        };
        let missing = seed.saturating_sub(market.insurance_total_in);
        if missing == 0 {
            continue;
        }
        let token = crate::trader::associated_token_account(&admin.pubkey(), &mint);
        if !dry_run {
            c.send(&[ix::deposit_insurance(admin.pubkey(), token, i as u16, missing)], &[admin], opts).await.map_err(
                |e| CliError::Failed {
                    message: format!(
                        "market {i}: seeding its insurance fund with {} from {token} (the signer's associated token \
                         account) failed: {e}",
                        Quote(missing as i64)
                    ),
                    details: None,
                },
            )?;
        }
        done.push(json!({ "insurance_seeded": i, "amount": Quote(missing as i64).to_string() }));
    }
    // listed collateral, once the markets its insurance market names exist
    crate::collateral::list_from_config(c, admin, config, dry_run, opts, &mut done, &mut proposed).await?;
    if timelock > delay {
        if !dry_run {
            c.send(&[ix::set_timelock_delay(admin.pubkey(), timelock)], &[admin], opts).await.map_err(err)?;
        }
        done.push(json!({ "timelock_s": timelock }));
    }
    let created = done.iter().filter(|d| d.get("created").is_some()).count();
    Ok(Output::new("created", json!({ "created": created, "dry_run": dry_run, "steps": done, "proposed": proposed })))
}

/// `perp admin execute --proposal ID`: runs a proposal whose timelock has passed (anyone may).
pub async fn execute<C: Chain>(c: &C, signer: &Keypair, id: u64, opts: &SendOptions) -> Result<Output, CliError> {
    let err = |e: perp_client::ChainError| CliError::Failed { message: e.to_string(), details: None };
    let data = c
        .account(&pda::proposal(id))
        .await
        .map_err(err)?
        .ok_or_else(|| CliError::Failed { message: format!("no proposal {id}"), details: None })?;
    let p: Proposal = anchor_lang::AccountDeserialize::try_deserialize(&mut data.data.as_slice())
        .map_err(|e| CliError::Failed { message: format!("proposal {id}: {e}"), details: None })?;
    let i = match &p.action {
        AdminAction::UpdateMarket { market_index, .. } => {
            ix::execute_update_market(signer.pubkey(), id, p.proposer, *market_index)
        }
        AdminAction::CreateMarket { market_index, .. } => {
            ix::execute_create_market(signer.pubkey(), id, p.proposer, *market_index)
        }
        AdminAction::ListCollateral { collateral_index, mint, .. } => {
            perp_client::collateral::execute_list_collateral(signer.pubkey(), id, p.proposer, *mint, *collateral_index)
        }
        AdminAction::UpdateCollateral { collateral_index, .. } => {
            perp_client::collateral::execute_update_collateral(signer.pubkey(), id, p.proposer, *collateral_index)
        }
        _ => ix::execute_exchange_action(signer.pubkey(), id, p.proposer),
    };
    c.send(&[i], &[signer], opts).await.map_err(err)?;
    Ok(Output::new("executed", json!({ "executed": id, "kind": p.action.kind() })))
}
