//! `perp indexer` (the program's history into a database, served over HTTP) and `perp history`
//! (reads that API: an account's fills, funding, liquidations, transfers and orders; a market's
//! trades and candles). Amounts are printed in units (USDC, BTC, ...), as the rest of the CLI does.

use crate::output::{CliError, Output};
use anchor_lang::prelude::Pubkey;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::str::FromStr;

/// The API's address when nothing else is said (`perp indexer --listen` default).
pub const DEFAULT_API: &str = "http://127.0.0.1:8910";

#[derive(Args, Debug)]
pub struct IndexerArgs {
    /// Database: `postgres://user@host/db`, or a SQLite file (created when missing).
    #[arg(long, default_value = "perp-history.db")]
    pub db: String,
    /// Where the HTTP API listens (`off`: no API).
    #[arg(long, default_value = "127.0.0.1:8910")]
    pub listen: String,
    /// Websocket endpoint for new-transaction notifications: `auto` (the RPC port + 1), a URL,
    /// or `off` (poll only).
    #[arg(long, default_value = "auto")]
    pub ws: String,
    /// Look for new transactions at least this often, seconds.
    #[arg(long, default_value_t = 5)]
    pub poll: u64,
    /// Backfill what is finalized, print what was written, and exit.
    #[arg(long)]
    pub once: bool,
    /// Log lines as JSON.
    #[arg(long)]
    pub log_json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct AccountArgs {
    /// Margin account address (default: your keypair's account `--id`, or `--owner`'s).
    #[arg(long)]
    pub account: Option<String>,
    /// Owner of the account (default: your keypair).
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub id: u16,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Args, Debug, Clone)]
pub struct PageArgs {
    /// The indexer's API.
    #[arg(long, default_value = DEFAULT_API)]
    pub api: String,
    /// At most this many rows (1-1000).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Continue after a previous page (its `next_cursor`).
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCmd {
    /// An account's fills, newest first.
    Fills(AccountArgs),
    /// Funding an account paid (positive) or received (negative).
    Funding(AccountArgs),
    /// An account's liquidations (takeovers and collateral sales).
    Liquidations(AccountArgs),
    /// An account's deposits and withdrawals (every mint) and isolated moves.
    Transfers(AccountArgs),
    /// An account's orders: placed, triggered, filled, cancelled.
    Orders(AccountArgs),
    /// A market's trades.
    Trades {
        #[arg(long, default_value_t = 0)]
        market: u16,
        #[command(flatten)]
        page: PageArgs,
    },
    /// A market's candles of the mark (or the index).
    Candles {
        #[arg(long, default_value_t = 0)]
        market: u16,
        /// 1m, 5m, 1h or 1d.
        #[arg(long, default_value = "1h")]
        resolution: String,
        /// mark or index.
        #[arg(long, default_value = "mark")]
        kind: String,
        /// Unix seconds (default: 24 candles back).
        #[arg(long)]
        from: Option<i64>,
        #[arg(long)]
        to: Option<i64>,
        #[arg(long, default_value = DEFAULT_API)]
        api: String,
    },
    /// What the indexer holds: newest signature, counts, gaps in event streams.
    Status {
        #[arg(long, default_value = DEFAULT_API)]
        api: String,
    },
}

/// The account a history command is about.
pub fn account_of(a: &AccountArgs, me: Option<&Pubkey>) -> Result<Pubkey, CliError> {
    if let Some(k) = &a.account {
        return Pubkey::from_str(k).map_err(|_| CliError::input(format!("--account {k}: not a base58 public key")));
    }
    let owner = match &a.owner {
        Some(o) => Pubkey::from_str(o).map_err(|_| CliError::input(format!("--owner {o}: not a base58 public key")))?,
        None => *me.ok_or_else(|| CliError::input("no --account, --owner or keypair".into()))?,
    };
    Ok(perp_client::pda::margin_account(&owner, a.id))
}

async fn fetch(api: &str, path: &str) -> Result<Value, CliError> {
    let url = format!("{}{path}", api.trim_end_matches('/'));
    let r = reqwest::get(&url).await.map_err(|e| CliError::Failed {
        message: format!(
            "no indexer answers at {api} ({}): start one with `perp indexer` (or pass --api)",
            e.without_url()
        ),
        details: None,
    })?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let why = body["error"].as_str().unwrap_or("no reason given").to_string();
        return Err(if status.as_u16() == 400 {
            CliError::input(why)
        } else {
            CliError::Failed { message: format!("{why} ({status})"), details: None }
        });
    }
    Ok(body)
}

/// `1234567` raw at `decimals` -> "1.234567".
fn units(raw: &Value, decimals: u32) -> Value {
    let Some(s) = raw.as_str() else { return raw.clone() };
    let Ok(v) = s.parse::<i128>() else { return raw.clone() };
    let d = 10i128.pow(decimals);
    let (sign, a) = if v < 0 { ("-", -v) } else { ("", v) };
    let frac = format!("{:0w$}", a % d, w = decimals as usize);
    let frac = frac.trim_end_matches('0');
    json!(if frac.is_empty() { format!("{sign}{}", a / d) } else { format!("{sign}{}.{frac}", a / d) })
}

fn time(v: &Value) -> Value {
    let t = v.as_i64().unwrap_or(0);
    let (d, s) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = d + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    json!(format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", s / 3_600, s % 3_600 / 60, s % 60))
}

/// Rows with chosen columns, amounts in units: `(column, source field, decimals or None)`.
fn rows(items: &Value, cols: &[(&str, &str, Option<u32>)]) -> Vec<Value> {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|it| {
                    let mut m = serde_json::Map::new();
                    for (name, field, dec) in cols {
                        let v = &it[*field];
                        let out = match (*field, dec) {
                            ("block_time", _) | ("time", _) => time(v),
                            (_, Some(d)) => units(v, *d),
                            _ => v.clone(),
                        };
                        m.insert(name.to_string(), out);
                    }
                    Value::Object(m)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn page_query(p: &PageArgs) -> String {
    let mut q = format!("?limit={}", p.limit);
    if let Some(c) = &p.cursor {
        q.push_str(&format!("&cursor={c}"));
    }
    q
}

fn paged(main: &'static str, body: &Value, cols: &[(&str, &str, Option<u32>)], extra: Value) -> Output {
    let mut v = extra;
    v[main] = Value::Array(rows(&body["items"], cols));
    v["next_cursor"] = body["next_cursor"].clone();
    Output::new(main, v)
}

/// `(column, source field, decimals)`: a printed column.
type Col<'a> = (&'a str, &'a str, Option<u32>);

const Q: Option<u32> = Some(6); // quote and prices
const B: Option<u32> = Some(9); // base

/// Runs a `perp history` command against the API.
pub async fn run(cmd: &HistoryCmd, me: Option<&Pubkey>) -> Result<Output, CliError> {
    let fill_cols: &[(&str, &str, Option<u32>)] = &[
        ("time", "block_time", None),
        ("market", "market_index", None),
        ("base", "base", B),
        ("price", "avg_price", Q),
        ("quote", "quote", Q),
        ("fee", "fee", Q),
        ("realized_pnl", "realized_pnl", Q),
        ("position_after", "new_base", B),
        ("signature", "signature", None),
    ];
    match cmd {
        HistoryCmd::Fills(a)
        | HistoryCmd::Funding(a)
        | HistoryCmd::Liquidations(a)
        | HistoryCmd::Transfers(a)
        | HistoryCmd::Orders(a) => {
            let acct = account_of(a, me)?;
            let (sub, cols): (&str, &[Col]) = match cmd {
                HistoryCmd::Fills(_) => ("fills", fill_cols),
                HistoryCmd::Funding(_) => (
                    "funding",
                    &[
                        ("time", "block_time", None),
                        ("market", "market_index", None),
                        ("paid", "payment", Q),
                        ("signature", "signature", None),
                    ],
                ),
                HistoryCmd::Liquidations(_) => (
                    "liquidations",
                    &[
                        ("time", "block_time", None),
                        ("kind", "kind", None),
                        ("market", "market_index", None),
                        ("base", "base", B),
                        ("price", "price", Q),
                        ("realized_pnl", "realized_pnl", Q),
                        ("mint", "collateral_index", None),
                        ("tokens_raw", "tokens", None),
                        ("liquidator", "liquidator", None),
                        ("signature", "signature", None),
                    ],
                ),
                HistoryCmd::Transfers(_) => (
                    "transfers",
                    &[
                        ("time", "block_time", None),
                        ("kind", "kind", None),
                        ("mint", "collateral_index", None),
                        ("amount_raw", "amount", None),
                        ("balance_after_raw", "balance_after", None),
                        ("signature", "signature", None),
                    ],
                ),
                _ => (
                    "orders",
                    &[
                        ("time", "block_time", None),
                        ("event", "kind", None),
                        ("order_id", "order_id", None),
                        ("market", "market_index", None),
                        ("side", "side", None),
                        ("size", "size", B),
                        ("price", "price", Q),
                        ("reason", "reason", None),
                        ("signature", "signature", None),
                    ],
                ),
            };
            let body = fetch(&a.page.api, &format!("/v1/accounts/{acct}/{sub}{}", page_query(&a.page))).await?;
            let main: &'static str = match sub {
                "fills" => "fills",
                "funding" => "funding",
                "liquidations" => "liquidations",
                "transfers" => "transfers",
                _ => "orders",
            };
            Ok(paged(main, &body, cols, json!({ "account": acct.to_string() })))
        }
        HistoryCmd::Trades { market, page } => {
            let body = fetch(&page.api, &format!("/v1/markets/{market}/trades{}", page_query(page))).await?;
            let mut cols = fill_cols.to_vec();
            cols.insert(1, ("account", "margin_account", None));
            Ok(paged("trades", &body, &cols, json!({ "market": market })))
        }
        HistoryCmd::Candles { market, resolution, kind, from, to, api } => {
            let step = perp_indexer::candles::resolution(resolution)
                .ok_or_else(|| CliError::input(format!("--resolution {resolution}: use 1m, 5m, 1h or 1d")))?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let to = to.unwrap_or(now);
            let from = from.unwrap_or(to - 24 * step);
            let body = fetch(
                api,
                &format!("/v1/markets/{market}/candles?resolution={resolution}&kind={kind}&from={from}&to={to}"),
            )
            .await?;
            let cols = [
                ("time", "time", None),
                ("open", "open", Q),
                ("high", "high", Q),
                ("low", "low", Q),
                ("close", "close", Q),
                ("volume", "volume_base", B),
                ("samples", "samples", None),
            ];
            let mut v = json!({ "market": market, "kind": kind, "resolution": resolution });
            v["candles"] = Value::Array(rows(&body["candles"], &cols));
            Ok(Output::new("candles", v))
        }
        HistoryCmd::Status { api } => {
            let body = fetch(api, "/v1/status").await?;
            Ok(Output::new("transactions", body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_amounts_print_in_units() {
        assert_eq!(units(&json!("65010000000"), 6), json!("65010"));
        assert_eq!(units(&json!("-1500000000"), 9), json!("-1.5"));
        assert_eq!(units(&json!("650000"), 6), json!("0.65"));
        assert_eq!(units(&json!("7"), 9), json!("0.000000007"));
        assert_eq!(time(&json!(1_764_583_200)), json!("2025-12-01 10:00:00"));
        assert_eq!(time(&json!(951_782_400)), json!("2000-02-29 00:00:00"));
    }
}
