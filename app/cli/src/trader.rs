//! Trader commands: accounts, trades, positions, markets. Generic over the chain so the same
//! code is exercised against the in-process bank in tests and against a cluster from the shell.

use crate::output::{CliError, Output};
use clap::{Args, Subcommand};
use perp::instructions::{OrderParams, OrderSide};
use perp_client::chain::{
    fetch_all_margin_accounts, fetch_exchange, fetch_margin, fetch_markets, fetch_oracles, Chain, ChainError,
    SendOptions,
};
use perp_client::preview::{
    account_health_with, adl_rank, adl_share, index_view, market_state, preview_trade_with, MarketState,
};
use perp_client::{ix, pda, Pubkey};
use perp_core::units::Decimal;
use perp_core::vamm::Side;
use perp_core::{Base, Price, Quote, Rate, Round};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::collections::BTreeMap;

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Create a margin account.
    Create(IdArg),
    /// Deposit collateral (from your token account for the collateral mint).
    Deposit(MoveArgs),
    /// Withdraw collateral (up to the withdrawable amount).
    Withdraw(MoveArgs),
    /// Show collateral, health and positions.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct IdArg {
    /// Margin account number.
    #[arg(long, default_value_t = 0)]
    pub id: u16,
}

#[derive(Args, Debug)]
pub struct MoveArgs {
    /// Amount, in whole tokens (USDC, or the `--mint`'s).
    #[arg(long)]
    pub amount: String,
    /// A listed collateral (symbol, index or mint address) instead of the settlement mint.
    #[arg(long)]
    pub mint: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub id: u16,
    /// Token account to move from/to (default: your associated token account).
    #[arg(long)]
    pub token: Option<String>,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[arg(long, default_value_t = 0)]
    pub id: u16,
    /// Owner of the account (default: your keypair).
    #[arg(long)]
    pub owner: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TradeCmd {
    /// Buy (go long / reduce a short).
    Buy(TradeArgs),
    /// Sell (go short / reduce a long).
    Sell(TradeArgs),
}

#[derive(Args, Debug)]
pub struct TradeArgs {
    /// Market index or name (e.g. 0 or BTC-PERP).
    #[arg(long)]
    pub market: String,
    /// Size in base units.
    #[arg(long)]
    pub size: String,
    /// Worst acceptable average price (default: the preview's average fill moved by --slippage).
    #[arg(long)]
    pub limit: Option<String>,
    /// Without --limit, the largest move of the average fill from the preview's that the order
    /// accepts, in % (default 1): the signed order carries it as its limit price.
    #[arg(long)]
    pub slippage: Option<String>,
    /// Trade in isolated margin, moving this much collateral into the position.
    #[arg(long)]
    pub isolated: Option<String>,
    #[arg(long)]
    pub reduce_only: bool,
    /// Attach a stop-loss (reduce-only stop-market on the whole resulting position, triggered on
    /// the oracle index at this price), placed in the same transaction.
    #[arg(long)]
    pub stop_loss: Option<String>,
    /// Attach a take-profit the same way.
    #[arg(long)]
    pub take_profit: Option<String>,
    /// Only show the preview.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, default_value_t = 0)]
    pub id: u16,
}

#[derive(Subcommand, Debug)]
pub enum PositionCmd {
    /// Your positions: size, entry, mark, PnL, liquidation and bankruptcy prices, ADL rank and
    /// quantile (1-5 lights, 0 when not in the queue), as `account show` lists them.
    List(ShowArgs),
    /// Close a position in full.
    Close(CloseArgs),
}

#[derive(Args, Debug)]
pub struct CloseArgs {
    #[arg(long)]
    pub market: String,
    #[arg(long)]
    pub limit: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub id: u16,
}

#[derive(Subcommand, Debug)]
pub enum MarketCmd {
    /// Every market with its index, mark and funding.
    List,
    /// One market: each index source and why any was dropped, mark, funding, open interest, insurance.
    Show(MarketArg),
}

#[derive(Args, Debug)]
pub struct MarketArg {
    #[arg(long)]
    pub market: String,
}

pub(crate) fn chain_err(e: ChainError) -> CliError {
    crate::hints::chain_error(e)
}

pub(crate) fn s<T: std::fmt::Display>(v: T) -> Value {
    Value::String(v.to_string())
}

fn parse_quote(name: &str, v: &str) -> Result<Quote, CliError> {
    let q = Quote::parse(v).map_err(|e| CliError::input(format!("--{name} '{v}': {e}")))?;
    if q.0 <= 0 {
        return Err(CliError::input(format!("--{name} '{v}': must be positive")));
    }
    Ok(q)
}

pub(crate) fn parse_key(name: &str, v: &str) -> Result<Pubkey, CliError> {
    v.parse().map_err(|_| CliError::input(format!("--{name} '{v}': not a base58 public key")))
}

/// The associated token account of `owner` for `mint` (SPL associated-token-account program).
pub fn associated_token_account(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    let ata_program: Pubkey = anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
    Pubkey::find_program_address(&[owner.as_ref(), anchor_spl::token::ID.as_ref(), mint.as_ref()], &ata_program).0
}

fn market_name(m: &perp::state::Market) -> String {
    m.name_str().to_string()
}

/// Prices of every market as the program sees them now.
pub async fn market_states<C: Chain>(c: &C, now: i64) -> Result<(BTreeMap<u16, MarketState>, Vec<Value>), CliError> {
    let ex = fetch_exchange(c).await.map_err(chain_err)?;
    let mut states = BTreeMap::new();
    let mut details = Vec::new();
    for m in fetch_markets(c).await.map_err(chain_err)? {
        let oracles = fetch_oracles(c, &m).await.map_err(chain_err)?;
        let iv = index_view(&m, &ex, &oracles, now);
        let sources: Vec<Value> = (0..m.oracle_count())
            .map(|i| {
                let r = &iv.readings[i];
                let kind = if m.oracles[i].kind == 1 { "pyth-legacy" } else { "pyth-pull" };
                let status = match (&iv.issues[i], iv.report.as_ref().and_then(|rep| rep.dropped[i])) {
                    (Some(issue), _) => format!("dropped: {issue}"),
                    (None, Some(d)) => format!("dropped: {d}"),
                    (None, None) if iv.report.is_some() => "used".to_string(),
                    _ => "unknown".to_string(),
                };
                json!({
                    "oracle": m.oracles[i].key.to_string(),
                    "kind": kind,
                    "price": if r.price.is_zero() { Value::Null } else { s(r.price) },
                    "conf": s(r.conf),
                    "age_s": if r.publish_time == 0 { Value::Null } else { json!(now - r.publish_time) },
                    "status": status,
                })
            })
            .collect();
        let st = market_state(&m, &iv, now);
        details.push(json!({
            "market": m.market_index,
            "name": market_name(&m),
            "index": st.as_ref().map(|x| s(x.index)).unwrap_or(Value::Null),
            "index_live": st.as_ref().map(|x| x.live).unwrap_or(false),
            "sources": sources,
        }));
        if let Some(st) = st {
            states.insert(m.market_index, st);
        }
    }
    Ok((states, details))
}

pub(crate) async fn resolve_market<C: Chain>(c: &C, key: &str) -> Result<perp::state::Market, CliError> {
    let markets = fetch_markets(c).await.map_err(chain_err)?;
    if let Ok(i) = key.parse::<u16>() {
        return match markets.iter().find(|m| m.market_index == i) {
            Some(m) => Ok(*m),
            None => Err(unknown_market(key, &markets)),
        };
    }
    match markets.iter().find(|m| m.name_str().eq_ignore_ascii_case(key)) {
        Some(m) => Ok(*m),
        None => Err(unknown_market(key, &markets)),
    }
}

fn unknown_market(key: &str, markets: &[perp::state::Market]) -> CliError {
    let known: Vec<String> = markets.iter().map(|m| format!("{} ({})", m.name_str(), m.market_index)).collect();
    CliError::input(if known.is_empty() {
        format!("--market {key}: this exchange has no market yet (an admin creates them: `perp admin init`)")
    } else {
        format!(
            "--market {key}: no such market; the markets are {} (by name or number; `perp market list`)",
            known.join(", ")
        )
    })
}

pub(crate) fn need(signer: Option<&Keypair>) -> Result<&Keypair, CliError> {
    signer.ok_or_else(|| CliError::input("this command needs --keypair".into()))
}

pub async fn account<C: Chain>(
    c: &C,
    signer: Option<&Keypair>,
    cmd: &AccountCmd,
    opts: &SendOptions,
) -> Result<Output, CliError> {
    match cmd {
        AccountCmd::Create(a) => {
            let kp = need(signer)?;
            let key = pda::margin_account(&kp.pubkey(), a.id);
            let sig = c.send(&[ix::create_margin_account(kp.pubkey(), a.id)], &[kp], opts).await.map_err(chain_err)?;
            Ok(Output::new("margin_account", json!({ "margin_account": key.to_string(), "signature": sig })))
        }
        AccountCmd::Deposit(a) | AccountCmd::Withdraw(a) if a.mint.is_some() => {
            let deposit = matches!(cmd, AccountCmd::Deposit(_));
            let mint = a.mint.as_deref().unwrap_or_default();
            crate::collateral::move_collateral(c, signer, a.id, mint, &a.amount, a.token.as_deref(), deposit, opts)
                .await
        }
        AccountCmd::Deposit(a) | AccountCmd::Withdraw(a) => {
            let kp = need(signer)?;
            let amount = parse_quote("amount", &a.amount)?;
            let ex = fetch_exchange(c).await.map_err(chain_err)?;
            let token = match &a.token {
                Some(t) => parse_key("token", t)?,
                None => associated_token_account(&kp.pubkey(), &ex.collateral_mint),
            };
            let key = pda::margin_account(&kp.pubkey(), a.id);
            let ixs = if matches!(cmd, AccountCmd::Deposit(_)) {
                vec![ix::deposit(kp.pubkey(), key, token, amount.0 as u64)]
            } else {
                // the cross markets' cached indexes must be fresh: refresh them in the same transaction
                let acct = fetch_margin(c, &key).await.map_err(chain_err)?;
                let markets = ix::cross_markets(&acct, None);
                let mut v = Vec::new();
                // only positions are valued (a slot holding only orders is not): refresh those
                for i in markets.iter().filter(|i| acct.find(**i).is_some_and(|s| acct.positions[s].base != 0)) {
                    let m = perp_client::chain::fetch_market(c, *i).await.map_err(chain_err)?;
                    v.push(ix::update_funding(*i, &ix::market_oracles(&m)));
                }
                // and every listed collateral it holds
                let collaterals = perp_client::chain::fetch_collaterals(c).await.map_err(chain_err)?;
                v.extend(crate::collateral::refreshes(&acct, &collaterals));
                v.push(ix::withdraw(kp.pubkey(), key, token, amount.0 as u64, &markets));
                crate::collateral::pass_collateral(&acct, &mut v);
                v
            };
            let sig = c.send(&ixs, &[kp], opts).await.map_err(chain_err)?;
            let acct = fetch_margin(c, &key).await.map_err(chain_err)?;
            Ok(Output::new(
                "cross_collateral",
                json!({ "cross_collateral": s(Quote(acct.cross_collateral)), "signature": sig }),
            ))
        }
        AccountCmd::Show(a) => {
            let owner = match &a.owner {
                Some(o) => parse_key("owner", o)?,
                None => need(signer)?.pubkey(),
            };
            show_account(c, &pda::margin_account(&owner, a.id)).await
        }
    }
}

pub async fn show_account<C: Chain>(c: &C, key: &Pubkey) -> Result<Output, CliError> {
    let now = c.unix_time().await.map_err(chain_err)?;
    let acct = fetch_margin(c, key).await.map_err(chain_err)?;
    let (states, _) = market_states(c, now).await?;
    let collaterals = perp_client::chain::fetch_collaterals(c).await.map_err(chain_err)?;
    let h = account_health_with(&acct, &states, &collaterals, now);
    let holdings: Vec<Value> = perp_client::collateral_view::holdings(&acct, &collaterals, now)
        .iter()
        .map(|x| {
            let name = collaterals.get(&x.collateral_index).map(|c| c.name_str().to_string()).unwrap_or_default();
            json!({
                "collateral": name,
                "amount": crate::collateral::tokens(x.amount, x.decimals),
                "price": s(x.price),
                "value": s(x.value),
                "initial_weight": s(Rate(x.initial_weight)),
                "maintenance_weight": s(Rate(x.maintenance_weight)),
                "counts_initial": s(x.counted.initial),
                "counts_maintenance": s(x.counted.maintenance),
            })
        })
        .collect();
    let all = if acct.has_positions() { fetch_all_margin_accounts(c).await.map_err(chain_err)? } else { vec![] };
    let positions: Vec<Value> = h
        .positions
        .iter()
        .map(|p| {
            let name = states.get(&p.market_index).map(|m| market_name(&m.market)).unwrap_or_default();
            let ms = states.get(&p.market_index);
            let pro_rata = ms.is_some_and(|m| m.market.adl_policy == perp_core::haircut::AdlPolicy::ProRata as u8);
            let rank = ms.filter(|_| !pro_rata).and_then(|m| adl_rank(key, m, &all));
            let share = ms.filter(|_| pro_rata).and_then(|m| adl_share(key, m, &all));
            json!({
                "market": name,
                "size": s(p.base),
                "entry": p.entry_price.map(s).unwrap_or(Value::Null),
                "mark": s(p.mark),
                "upnl": s(p.upnl),
                "funding_owed": s(p.funding_owed),
                "haircut_owed": s(p.haircut_owed),
                "margin": if p.isolated { s(format!("isolated {}", p.isolated_collateral)) } else { s("cross") },
                "liquidation_price": p.liquidation_price.map(s).unwrap_or(Value::Null),
                "bankruptcy_price": p.bankruptcy_price.map(s).unwrap_or(Value::Null),
                "adl_rank": rank.map(|(r, n)| s(format!("{r}/{n}"))).unwrap_or(Value::Null),
                // the indicator a wallet shows: 1-5 lights, 0 when not in the queue
                "adl_quantile": rank.and_then(|(r, n)| perp_core::adl::adl_quantile(r, n)).unwrap_or(0),
                // pro rata: the share of a deficit on this side the position would bear now
                "adl_policy": if pro_rata { "pro-rata" } else { "ranked" },
                "adl_share": share.map(|(x, n)| s(format!("{:.2}% of {n} winners", x as f64 / 1e7))).unwrap_or(Value::Null),
                "bankrupt": p.bankrupt,
            })
        })
        .collect();
    let ratio = h.cross.margin_ratio().ok().flatten();
    Ok(Output::new(
        "equity",
        json!({
            "equity": s(h.cross.equity),
            "account": key.to_string(),
            "owner": acct.owner.to_string(),
            "cross_collateral": s(Quote(acct.cross_collateral)),
            "collateral": holdings,
            "orders_open": acct.orders.iter().filter(|o| o.in_use()).count(),
            "order_reserve": s(Quote(acct.order_reserve as i64)),
            "maintenance_margin": s(h.cross.maintenance),
            "initial_margin": s(h.cross.initial),
            "free_collateral": s(h.cross.free_collateral().unwrap_or_default()),
            "withdrawable": s(h.cross.withdrawable(Quote(acct.cross_collateral)).unwrap_or_default()),
            "margin_ratio": ratio.map(s).unwrap_or(Value::Null),
            "liquidatable": h.liquidatable(),
            "realized_pnl": s(Quote(acct.realized_pnl)),
            "funding_paid": s(Quote(acct.funding_paid)),
            "fees_paid": s(Quote(acct.fees_paid)),
            "positions": positions,
        }),
    ))
}

pub async fn trade<C: Chain>(
    c: &C,
    signer: Option<&Keypair>,
    cmd: &TradeCmd,
    opts: &SendOptions,
) -> Result<Output, CliError> {
    let (side, a) = match cmd {
        TradeCmd::Buy(a) => (Side::Long, a),
        TradeCmd::Sell(a) => (Side::Short, a),
    };
    let kp = need(signer)?;
    let size = Base::parse(&a.size).map_err(|e| CliError::input(format!("--size '{}': {e}", a.size)))?;
    if size.0 <= 0 {
        return Err(CliError::input(format!("--size '{}': must be positive", a.size)));
    }
    let limit = match &a.limit {
        Some(l) => Price::parse(l).map_err(|e| CliError::input(format!("--limit '{l}': {e}")))?,
        None => Price(0),
    };
    // slippage in basis points (0.01 %)
    let slippage_bps: u64 = match &a.slippage {
        None => 100,
        Some(t) => match perp_core::units::parse_decimal(t, 2) {
            Ok(d) if (0..=5_000).contains(&d) => d as u64,
            _ => return Err(CliError::input(format!("--slippage '{t}': a percentage from 0 to 50, e.g. 0.5"))),
        },
    };
    let iso = match &a.isolated {
        Some(q) => Some(Quote::parse(q).map_err(|e| CliError::input(format!("--isolated '{q}': {e}")))?),
        None => None,
    };
    let m = resolve_market(c, &a.market).await?;
    let key = pda::margin_account(&kp.pubkey(), a.id);
    let acct = fetch_margin(c, &key).await.map_err(chain_err)?;
    let now = c.unix_time().await.map_err(chain_err)?;
    let (states, _) = market_states(c, now).await?;
    let name = market_name(&m);
    let ms = states.get(&m.market_index).ok_or_else(|| CliError::Failed {
        message: format!(
            "market {name} has no price: too few of its feeds are fresh and no index is cached \
             (`perp market show --market {name}` names each source and why)"
        ),
        details: None,
    })?;
    // what the program refuses whatever the margin: say it before anything is signed
    let old_base = acct.find(m.market_index).map(|i| acct.positions[i].base).unwrap_or(0);
    let signed = if side == Side::Long { size.0 } else { -size.0 };
    let reduces = old_base != 0 && (old_base > 0) != (side == Side::Long) && size.0 <= old_base.abs();
    // as the program: closing and reducing are never paused, new risk is
    if m.is_paused(now) && !reduces {
        return Err(CliError::Failed {
            message: format!(
                "market {name} is paused until unix time {} ({} s from now): orders that add risk are refused \
                 until then; reducing or closing is allowed (`perp market show --market {name}`)",
                m.paused_until,
                m.paused_until - now
            ),
            details: None,
        });
    }
    if a.reduce_only && !reduces {
        return Err(CliError::input(format!(
            "--reduce-only: this order would not reduce your position in {name} (it is {}): sell at most your long or buy at most your short",
            Base(old_base)
        )));
    }
    if !reduces {
        let ex = fetch_exchange(c).await.map_err(chain_err)?;
        if ex.is_paused(perp::state::pause::TRADE, now) {
            return Err(CliError::Failed {
                message:
                    "the exchange has paused new risk (orders that open or grow a position): reducing and closing \
                          are allowed; try again when it is lifted"
                        .into(),
                details: None,
            });
        }
    }
    if m.is_reduce_only() && !reduces {
        return Err(CliError::Failed {
            message: format!(
                "market {name} only accepts orders that reduce a position (yours is {}): sell at most your long or buy at most your short",
                Base(old_base)
            ),
            details: None,
        });
    }
    let new_base = old_base.saturating_add(signed);
    if new_base != 0 && new_base.abs() < m.min_position && (!reduces || old_base.abs() >= m.min_position) {
        return Err(CliError::input(format!(
            "--size {}: the position would be {}, below the market's minimum {} (trade at least that, or close it in full)",
            a.size,
            Base(new_base),
            Base(m.min_position)
        )));
    }
    let ex = fetch_exchange(c).await.map_err(chain_err)?;
    let collaterals = crate::collateral::refresh_stale(c, kp, &acct, opts).await?;
    let p = preview_trade_with(
        &acct,
        ms,
        &states,
        &collaterals,
        ex.fee_insurance_share,
        side,
        size,
        iso.is_some(),
        iso.unwrap_or_default(),
        now,
    )
    .map_err(|e| CliError::Failed { message: e, details: None })?;
    let mut out = json!({
        "estimated_fill": s(p.fill.avg_price),
        "vamm_price_after": s(p.fill.final_price),
        "fee": s(p.fee),
        "realized_pnl": s(p.realized),
        "new_size": s(p.new_position.base),
        "new_margin_ratio": p.margin_ratio_after.map(s).unwrap_or(Value::Null),
        "new_liquidation_price": p.liquidation_price_after.map(s).unwrap_or(Value::Null),
        "accepted": p.accepted.is_ok(),
    });
    if let Err(why) = &p.accepted {
        out["rejection"] = s(why);
        return Err(CliError::Failed {
            message: format!("the program would reject this order: {why}"),
            details: Some(out),
        });
    }
    // the worst average price signed: --limit, or the preview's fill moved by the slippage
    let avg = p.fill.avg_price.0 as u128;
    let limit = if limit.0 != 0 {
        limit
    } else if side == Side::Long {
        Price((avg * (10_000 + slippage_bps as u128) / 10_000).min(u64::MAX as u128) as u64)
    } else {
        Price(((avg * (10_000 - slippage_bps as u128)).div_ceil(10_000)) as u64)
    };
    out["limit_price"] = s(limit);
    if a.dry_run {
        return Ok(Output::new("estimated_fill", out));
    }
    let params = OrderParams {
        side: if side == Side::Long { OrderSide::Long } else { OrderSide::Short },
        size: size.0 as u64,
        limit_price: limit.0,
        reduce_only: a.reduce_only,
        isolated: iso.is_some(),
        isolated_collateral: iso.map(|q| q.0 as u64).unwrap_or(0),
        max_index_deviation: 0,
    };
    let mut ixs = vec![ix::place_market_order(
        kp.pubkey(),
        key,
        m.market_index,
        &ix::market_oracles(&m),
        &ix::position_markets(&acct, Some(m.market_index)),
        params,
    )];
    crate::collateral::pass_collateral(&acct, &mut ixs);
    let trigger = |name: &str, v: &Option<String>| -> Result<Option<u64>, CliError> {
        v.as_ref()
            .map(|x| match Price::parse(x) {
                Ok(p) if !p.is_zero() => Ok(p.0),
                Ok(_) => Err(CliError::input(format!("--{name} '{x}': must be positive"))),
                Err(e) => Err(CliError::input(format!("--{name} '{x}': {e}"))),
            })
            .transpose()
    };
    let (sl, tp) = (trigger("stop-loss", &a.stop_loss)?, trigger("take-profit", &a.take_profit)?);
    if sl.is_some() || tp.is_some() {
        let held = p.new_position.base;
        if held.0 == 0 {
            return Err(CliError::input("--stop-loss/--take-profit: the trade leaves no position to protect".into()));
        }
        let pos_side = if held.0 > 0 { OrderSide::Long } else { OrderSide::Short };
        // the reward is reserved from cross margin: the cross markets after this trade
        let mut cross = ix::cross_markets(&acct, Some(m.market_index));
        if iso.is_none() && acct.find(m.market_index).is_none_or(|i| !acct.positions[i].is_isolated()) {
            cross.push(m.market_index);
        }
        for o in perp_client::orders::bracket(pos_side, held.0.unsigned_abs(), sl, tp) {
            let mut i = perp_client::orders::place_order(kp.pubkey(), key, m.market_index, &cross, o);
            i.accounts.extend(perp_client::collateral::collateral_metas(&perp_client::collateral::held(&acct)));
            ixs.push(i);
        }
        out["attached_orders"] = json!(ixs.len() - 1);
    }
    let sig = c.send(&ixs, &[kp], opts).await.map_err(chain_err)?;
    out["signature"] = s(sig);
    Ok(Output::new("estimated_fill", out))
}

pub async fn position<C: Chain>(
    c: &C,
    signer: Option<&Keypair>,
    cmd: &PositionCmd,
    opts: &SendOptions,
) -> Result<Output, CliError> {
    let a = match cmd {
        PositionCmd::List(a) => {
            let owner = match &a.owner {
                Some(o) => parse_key("owner", o)?,
                None => need(signer)?.pubkey(),
            };
            let key = pda::margin_account(&owner, a.id);
            let shown = show_account(c, &key).await?;
            let positions = shown.value.get("positions").cloned().unwrap_or(Value::Array(vec![]));
            let count = positions.as_array().map(|p| p.len()).unwrap_or(0);
            return Ok(Output::new(
                "positions_open",
                json!({ "positions_open": count, "account": key.to_string(), "positions": positions }),
            ));
        }
        PositionCmd::Close(a) => a,
    };
    let kp = need(signer)?;
    let m = resolve_market(c, &a.market).await?;
    let key = pda::margin_account(&kp.pubkey(), a.id);
    let acct = fetch_margin(c, &key).await.map_err(chain_err)?;
    let limit = match &a.limit {
        Some(l) => Price::parse(l).map_err(|e| CliError::input(format!("--limit '{l}': {e}")))?,
        None => Price(0),
    };

    let before = acct.realized_pnl;
    crate::collateral::refresh_stale(c, kp, &acct, opts).await?;
    let mut ixs = vec![ix::close_position(
        kp.pubkey(),
        key,
        m.market_index,
        &ix::market_oracles(&m),
        &ix::position_markets(&acct, Some(m.market_index)),
        limit.0,
    )];
    crate::collateral::pass_collateral(&acct, &mut ixs);
    let sig = c.send(&ixs, &[kp], opts).await.map_err(chain_err)?;
    let after = fetch_margin(c, &key).await.map_err(chain_err)?;
    Ok(Output::new("realized_pnl", json!({ "realized_pnl": s(Quote(after.realized_pnl - before)), "signature": sig })))
}

pub async fn market<C: Chain>(c: &C, cmd: &MarketCmd) -> Result<Output, CliError> {
    let now = c.unix_time().await.map_err(chain_err)?;
    let (states, details) = market_states(c, now).await?;
    let summary = |m: &perp::state::Market| -> Value {
        let st = states.get(&m.market_index);
        json!({
            "market": m.market_index,
            "name": market_name(m),
            "index": st.map(|x| s(x.index)).unwrap_or(Value::Null),
            "mark": st.map(|x| s(x.view.mark)).unwrap_or(Value::Null),
            "vamm_price": m.vamm().price().map(s).unwrap_or(Value::Null),
            "funding_rate": s(Decimal::new(m.last_funding_rate as i128, 9)),
            "next_funding_in_s": m.next_funding_time - now,
            "open_interest_long": s(Base(m.oi_long)),
            "open_interest_short": s(Base(m.oi_short)),
            "status": match m.status { 0 => "active", 1 => "reduce-only", _ => "paused" },
        })
    };
    match cmd {
        MarketCmd::List => {
            let markets = fetch_markets(c).await.map_err(chain_err)?;
            Ok(Output::new("markets", json!({ "markets": markets.iter().map(summary).collect::<Vec<_>>() })))
        }
        MarketCmd::Show(a) => {
            let m = resolve_market(c, &a.market).await?;
            let mut v = summary(&m);
            let d = &details[m.market_index as usize];
            v["index_live"] = d["index_live"].clone();
            v["sources"] = d["sources"].clone();
            v["pnl_pool"] = s(Quote(m.pnl_pool));
            v["fee_pool"] = s(Quote(m.fee_pool));
            v["insurance_fund"] = s(Quote(m.insurance_fund));
            v["insurance_pending"] = s(Quote(m.insurance_pending));
            v["unbacked_loss"] = s(Quote(m.unbacked_loss));
            // outstanding: no new risk in this market until its insurance or its winners repay it
            v["unbacked_outstanding"] = s(Quote(m.unbacked_outstanding));
            if m.max_oi_per_insurance > 0 {
                let cap = Quote(m.insurance_fund.max(0)).mul_rate(Rate(m.max_oi_per_insurance), Round::Down);
                v["open_interest_cap"] = json!(cap.map(s).unwrap_or_default());
            }
            v["bankrupt_accounts"] = json!(m.bankrupt_accounts);
            v["socialized_loss"] = s(Quote(m.socialized_loss));
            Ok(Output::new("index", v))
        }
    }
}
