//! `perp order place|list|cancel`: resting limit, stop-loss and take-profit orders, shown with
//! what `fill_order` would do with each now (the keeper's own rule, `perp_client::orders`).

use crate::output::{CliError, Output};
use crate::trader::{chain_err, market_states, need, parse_key, resolve_market, s};
use clap::{Args, Subcommand, ValueEnum};
use perp::instructions::{OrderSide, OrderType, OrdersToCancel, PlaceOrderParams};
use perp_client::chain::{fetch_margin, Chain, SendOptions};
use perp_client::orders::{kind_name, order_status, OrderStatus};
use perp_client::{ix, pda};
use perp_core::{Base, Price, Quote, Rate};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

#[derive(Subcommand, Debug)]
pub enum OrderCmd {
    /// Place a resting order (the market's filler reward is reserved from your collateral until
    /// it fills or you cancel it).
    Place(PlaceArgs),
    /// Your open orders, each with what a keeper's fill would do now.
    List(ListArgs),
    /// Cancel by order id, by client order id, or all (of one market with --market).
    Cancel(CancelArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Limit,
    Stop,
    TakeProfit,
    StopLimit,
    TakeProfitLimit,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideArg {
    Buy,
    Sell,
}

#[derive(Args, Debug)]
pub struct PlaceArgs {
    /// Market index or name.
    #[arg(long)]
    pub market: String,
    #[arg(long, value_enum)]
    pub kind: Kind,
    #[arg(long, value_enum)]
    pub side: SideArg,
    /// Size in base units.
    #[arg(long)]
    pub size: String,
    /// Limit price (limit, stop-limit, take-profit-limit).
    #[arg(long)]
    pub limit: Option<String>,
    /// Trigger price on the oracle index (stop, take-profit and their limit variants).
    #[arg(long)]
    pub trigger: Option<String>,
    /// Stop and take-profit: largest distance of the average fill from the index (e.g. 0.005;
    /// default: the market's band).
    #[arg(long)]
    pub slippage: Option<String>,
    /// Reduce-only (the default for stops and take-profits; `--reduce-only false` to open).
    #[arg(long)]
    pub reduce_only: Option<bool>,
    /// Seconds until the order expires (default: good until cancelled).
    #[arg(long)]
    pub expires_in: Option<i64>,
    /// Your own id for the order (unique among your open orders).
    #[arg(long, default_value_t = 0)]
    pub client_id: u64,
    #[arg(long, default_value_t = 0)]
    pub id: u16,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[arg(long, default_value_t = 0)]
    pub id: u16,
    /// Owner of the account (default: your keypair).
    #[arg(long)]
    pub owner: Option<String>,
}

#[derive(Args, Debug)]
pub struct CancelArgs {
    #[arg(long, conflicts_with_all = ["client_id", "all"])]
    pub order_id: Option<u64>,
    #[arg(long, conflicts_with = "all")]
    pub client_id: Option<u64>,
    #[arg(long)]
    pub all: bool,
    /// With --all: only this market's orders.
    #[arg(long, requires = "all")]
    pub market: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub id: u16,
}

fn price(name: &str, v: &Option<String>) -> Result<u64, CliError> {
    match v {
        None => Ok(0),
        Some(x) => {
            let p = Price::parse(x).map_err(|e| CliError::input(format!("--{name} '{x}': {e}")))?;
            if p.is_zero() {
                return Err(CliError::input(format!("--{name} '{x}': must be positive")));
            }
            Ok(p.0)
        }
    }
}

/// The program's parameters for a `perp order place` (checked here as the program will).
pub fn place_params(a: &PlaceArgs, now: i64) -> Result<PlaceOrderParams, CliError> {
    let order_type = match a.kind {
        Kind::Limit => OrderType::Limit,
        Kind::Stop => OrderType::StopMarket,
        Kind::TakeProfit => OrderType::TakeProfitMarket,
        Kind::StopLimit => OrderType::StopLimit,
        Kind::TakeProfitLimit => OrderType::TakeProfitLimit,
    };
    let k = order_type_kind(order_type);
    let size = Base::parse(&a.size).map_err(|e| CliError::input(format!("--size '{}': {e}", a.size)))?;
    if size.0 <= 0 {
        return Err(CliError::input(format!("--size '{}': must be positive", a.size)));
    }
    let limit_price = price("limit", &a.limit)?;
    let trigger_price = price("trigger", &a.trigger)?;
    if k.has_limit() != (limit_price > 0) {
        let want = if k.has_limit() { "needs --limit" } else { "takes no --limit" };
        return Err(CliError::input(format!("a {} order {want}", k.name())));
    }
    if k.has_trigger() != (trigger_price > 0) {
        let want = if k.has_trigger() { "needs --trigger" } else { "takes no --trigger" };
        return Err(CliError::input(format!("a {} order {want}", k.name())));
    }
    let max_slippage = match &a.slippage {
        None => 0,
        Some(_) if k.has_limit() => {
            return Err(CliError::input(format!("a {} order takes no --slippage (its limit bounds it)", k.name())))
        }
        Some(x) => {
            let r = Rate::parse(x).map_err(|e| CliError::input(format!("--slippage '{x}': {e}")))?;
            if r.0 <= 0 || r.0 > perp_core::orders::MAX_ORDER_BAND {
                return Err(CliError::input(format!("--slippage '{x}': must be in (0, 0.5]")));
            }
            r.0 as u64
        }
    };
    let expiry = match a.expires_in {
        None => 0,
        Some(s) if s > 0 => now + s,
        Some(s) => return Err(CliError::input(format!("--expires-in {s}: must be positive seconds"))),
    };
    Ok(PlaceOrderParams {
        order_type,
        side: if a.side == SideArg::Buy { OrderSide::Long } else { OrderSide::Short },
        size: size.0 as u64,
        limit_price,
        trigger_price,
        max_slippage,
        reduce_only: a.reduce_only.unwrap_or(k.has_trigger()),
        expiry,
        client_order_id: a.client_id,
    })
}

fn order_type_kind(t: OrderType) -> perp_core::orders::OrderKind {
    perp::instructions::OrderType::kind(t)
}

pub async fn order<C: Chain>(
    c: &C,
    signer: Option<&Keypair>,
    cmd: &OrderCmd,
    opts: &SendOptions,
) -> Result<Output, CliError> {
    match cmd {
        OrderCmd::Place(a) => {
            let kp = need(signer)?;
            // bad input is refused before any request to the node
            place_params(a, 0)?;
            let now = c.unix_time().await.map_err(chain_err)?;
            let params = place_params(a, now)?;
            let m = resolve_market(c, &a.market).await?;
            if m.order_band <= 0 {
                return Err(CliError::input(format!(
                    "--market {}: resting orders are not enabled on this market (order_band 0)",
                    a.market
                )));
            }
            if (params.size as i64) < m.min_position {
                return Err(CliError::input(format!(
                    "--size {}: below the market's minimum {}",
                    a.size,
                    Base(m.min_position)
                )));
            }
            let key = pda::margin_account(&kp.pubkey(), a.id);
            let acct = fetch_margin(c, &key).await.map_err(chain_err)?;
            crate::collateral::refresh_stale(c, kp, &acct, opts).await?;
            let mut ixs = vec![perp_client::orders::place_order(
                kp.pubkey(),
                key,
                m.market_index,
                &ix::cross_markets(&acct, None),
                params,
            )];
            crate::collateral::pass_collateral(&acct, &mut ixs);
            let sig = c.send(&ixs, &[kp], opts).await.map_err(chain_err)?;
            let after = fetch_margin(c, &key).await.map_err(chain_err)?;
            let id = after.next_order_id.saturating_sub(1);
            Ok(Output::new(
                "order_id",
                json!({
                    "order_id": id.to_string(),
                    "kind": order_type_kind(params.order_type).name(),
                    "reward_reserved": s(Quote(m.filler_reward)),
                    "signature": sig,
                }),
            ))
        }
        OrderCmd::List(a) => {
            let owner = match &a.owner {
                Some(o) => parse_key("owner", o)?,
                None => need(signer)?.pubkey(),
            };
            let key = pda::margin_account(&owner, a.id);
            let acct = fetch_margin(c, &key).await.map_err(chain_err)?;
            let now = c.unix_time().await.map_err(chain_err)?;
            let (states, _) = market_states(c, now).await?;
            let collaterals = perp_client::chain::fetch_collaterals(c).await.map_err(chain_err)?;
            let orders: Vec<Value> = acct
                .orders
                .iter()
                .filter(|o| o.in_use())
                .map(|o| {
                    let status = order_status(&acct, o, &states, &collaterals, now);
                    json!({
                        "order_id": o.order_id.to_string(),
                        "client_order_id": o.client_order_id.to_string(),
                        "market": o.market_index,
                        "kind": kind_name(o),
                        "side": if o.side == 1 { "buy" } else { "sell" },
                        "size": s(Base(o.size as i64)),
                        "filled": s(Base(o.filled as i64)),
                        "limit": if o.limit_price > 0 { s(Price(o.limit_price)) } else { Value::Null },
                        "trigger": if o.trigger_price > 0 { s(Price(o.trigger_price)) } else { Value::Null },
                        "slippage": if o.max_slippage > 0 { s(Rate(o.max_slippage as i64)) } else { Value::Null },
                        "reduce_only": o.reduce_only(),
                        "triggered": o.triggered(),
                        "expiry": o.expiry,
                        "reward": s(Quote(o.reward as i64)),
                        "status": status_text(&status),
                    })
                })
                .collect();
            Ok(Output::new(
                "orders_open",
                json!({
                    "orders_open": orders.len(),
                    "account": key.to_string(),
                    "reserved": s(Quote(acct.order_reserve as i64)),
                    "orders": orders,
                }),
            ))
        }
        OrderCmd::Cancel(a) => {
            let kp = need(signer)?;
            let which = match (a.order_id, a.client_id, a.all) {
                (Some(id), None, false) => OrdersToCancel::ById(id),
                (None, Some(id), false) if id != 0 => OrdersToCancel::ByClientId(id),
                (None, None, true) => {
                    let market_index = match &a.market {
                        Some(m) => Some(resolve_market(c, m).await?.market_index),
                        None => None,
                    };
                    OrdersToCancel::All { market_index }
                }
                _ => return Err(CliError::input("give one of --order-id, --client-id (not 0) or --all".into())),
            };
            let key = pda::margin_account(&kp.pubkey(), a.id);
            let before = fetch_margin(c, &key).await.map_err(chain_err)?;
            let i = perp_client::orders::cancel_orders(kp.pubkey(), key, which);
            let sig = c.send(&[i], &[kp], opts).await.map_err(chain_err)?;
            let after = fetch_margin(c, &key).await.map_err(chain_err)?;
            let n = |a: &perp::state::MarginAccount| a.orders.iter().filter(|o| o.in_use()).count();
            Ok(Output::new(
                "cancelled",
                json!({
                    "cancelled": n(&before) - n(&after),
                    "reward_returned": s(Quote(before.order_reserve as i64 - after.order_reserve as i64)),
                    "signature": sig,
                }),
            ))
        }
    }
}

/// One line on what a fill would do now.
pub fn status_text(st: &OrderStatus) -> String {
    match st {
        OrderStatus::Fillable { size, bound } => format!("fillable: {size} within {bound}"),
        OrderStatus::Expired => "expired: a keeper cancels it for the reward".into(),
        OrderStatus::NothingToReduce => "nothing to reduce: a keeper cancels it for the reward".into(),
        OrderStatus::NotTriggered => "waiting for its trigger".into(),
        OrderStatus::PriceNotReached { available, bound } => {
            format!("resting: the vAMM fills {available} within {bound}")
        }
        OrderStatus::IndexUnusable(why) => format!("waiting: {why}"),
        OrderStatus::Liquidatable => "waiting: the account is liquidatable (liquidation first)".into(),
        OrderStatus::Paused => "waiting: the market is paused".into(),
        OrderStatus::VammDisplaced => "waiting: the vAMM is pushed beyond half the band against the order".into(),
        OrderStatus::Trigger => "triggered now: a keeper marks it, then it rests as a limit".into(),
    }
}
