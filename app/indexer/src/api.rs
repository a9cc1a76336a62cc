//! The read-only HTTP API and the websocket stream (described in `openapi.json`, which a test
//! checks against this server). Amounts are the program's raw integers as decimal strings
//! (quote and prices 10^-6, base 10^-9, rates 10^-9); times, slots, sequence numbers and
//! indexes are JSON numbers. Lists are newest first with cursor pagination: pass the response's
//! `next_cursor` as `cursor` for the next page (`null` when there is none).

use crate::candles::{resolution, CandleKey};
use crate::db::Db;
use crate::ingest::IngestStats;
use anchor_lang::prelude::Pubkey;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use std::str::FromStr;
use tokio::sync::broadcast;

/// New fills and candles for websocket subscribers (JSON text messages), and the generation of
/// the history (one more per batch written: the answer cache's validity).
#[derive(Clone)]
pub struct Hub(pub broadcast::Sender<String>, pub std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Default for Hub {
    fn default() -> Self {
        Hub(broadcast::channel(4_096).0, Default::default())
    }
}

impl Hub {
    /// After a batch is committed: reads its fills and touched 1-minute candles back and sends
    /// them (only while someone listens).
    pub fn publish(&self, db: &Db, _stats: &IngestStats, candles: &[CandleKey], fills: &[String]) {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Release);
        if self.0.receiver_count() == 0 || (candles.is_empty() && fills.is_empty()) {
            return;
        }
        let (db, tx, candles, fills) = (db.clone(), self.0.clone(), candles.to_vec(), fills.to_vec());
        tokio::spawn(async move {
            for f in fills {
                let Some((sig, ix)) = f.rsplit_once(':') else { continue };
                let sql =
                    db.sql(&format!("SELECT {} FROM fills WHERE signature = $1 AND event_index = $2", cols(FILL_COLS)));
                let ix: i64 = ix.parse().unwrap_or(-1);
                if let Ok(Some(r)) = sqlx::query(&sql).bind(sig.to_string()).bind(ix).fetch_optional(&db.pool).await {
                    let mut m = to_json(&r, FILL_COLS);
                    m.insert("type".into(), json!("fill"));
                    let _ = tx.send(Value::Object(m).to_string());
                }
            }
            for (market, kind, res, bucket) in candles {
                let sql = db.sql(&format!(
                    "SELECT {} FROM candles WHERE market_index = $1 AND kind = $2 AND resolution = $3 AND bucket = $4",
                    cols(CANDLE_COLS)
                ));
                let q = sqlx::query(&sql).bind(market as i64).bind(kind).bind(res).bind(bucket);
                if let Ok(Some(r)) = q.fetch_optional(&db.pool).await {
                    let mut m = to_json(&r, CANDLE_COLS);
                    m.insert("type".into(), json!("candle"));
                    m.insert("market_index".into(), json!(market));
                    m.insert("kind".into(), json!(kind));
                    m.insert("resolution".into(), json!("1m"));
                    let _ = tx.send(Value::Object(m).to_string());
                }
            }
        });
    }
}

#[derive(Clone)]
struct App {
    db: Db,
    hub: Hub,
    status: std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, u64, Value)>>>,
}

/// The API's routes (`openapi.json` lists the same paths), answers cached until the next batch
/// (`cache`).
pub fn router(db: Db, hub: Hub) -> Router {
    router_with(db, hub, true)
}

/// [`router`], with or without the answer cache (the benchmark measures both).
pub fn router_with(db: Db, hub: Hub, cached: bool) -> Router {
    let generation = hub.1.clone();
    let r = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/markets", get(markets))
        .route("/v1/markets/{market}/candles", get(candles))
        .route("/v1/markets/{market}/trades", get(market_trades))
        .route("/v1/markets/{market}/funding", get(market_funding))
        .route("/v1/markets/{market}/liquidations", get(market_liquidations))
        .route("/v1/markets/{market}/adl", get(market_adl))
        .route("/v1/accounts/{account}/fills", get(account_fills))
        .route("/v1/accounts/{account}/funding", get(account_funding))
        .route("/v1/accounts/{account}/liquidations", get(account_liquidations))
        .route("/v1/accounts/{account}/transfers", get(account_transfers))
        .route("/v1/accounts/{account}/orders", get(account_orders))
        .route("/v1/stream", get(stream))
        .with_state(App { db, hub, status: Default::default() });
    let r = if cached {
        let cache = std::sync::Arc::new(crate::cache::Cache::new(generation));
        r.layer(axum::middleware::from_fn_with_state(cache, crate::cache::layer))
    } else {
        r
    };
    // public, read-only history: any page (the trading page, served from anywhere) may read it
    r.layer(axum::middleware::map_response(allow_any_origin))
}

async fn allow_any_origin(mut r: axum::response::Response) -> axum::response::Response {
    r.headers_mut().insert(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, axum::http::HeaderValue::from_static("*"));
    r
}

/// Column kinds: `T` text, `N` number, `A` amount (decimal string), `U` a u64 stored by its bits
/// (decimal string).
#[derive(Clone, Copy)]
enum C {
    T,
    N,
    A,
    U,
}

type Cols = &'static [(&'static str, C)];

const FILL_COLS: Cols = &[
    ("signature", C::T),
    ("event_index", C::N),
    ("slot", C::N),
    ("block_time", C::N),
    ("seq", C::N),
    ("market_index", C::N),
    ("margin_account", C::T),
    ("base", C::A),
    ("quote", C::A),
    ("avg_price", C::A),
    ("fee", C::A),
    ("realized_pnl", C::A),
    ("new_base", C::A),
    ("index_price", C::A),
    ("mark_price", C::A),
    ("isolated", C::N),
    ("by_delegate", C::N),
];
const FUNDING_RATE_COLS: Cols = &[
    ("signature", C::T),
    ("event_index", C::N),
    ("block_time", C::N),
    ("seq", C::N),
    ("market_index", C::N),
    ("funding_time", C::N),
    ("rate", C::A),
    ("premium_index", C::A),
    ("mark_price", C::A),
    ("oi_long", C::A),
    ("oi_short", C::A),
];
const FUNDING_PAYMENT_COLS: Cols = &[
    ("signature", C::T),
    ("event_index", C::N),
    ("block_time", C::N),
    ("seq", C::N),
    ("margin_account", C::T),
    ("market_index", C::N),
    ("payment", C::A),
];
const LIQUIDATION_COLS: Cols = &[
    ("signature", C::T),
    ("event_index", C::N),
    ("block_time", C::N),
    ("seq", C::N),
    ("kind", C::T),
    ("market_index", C::N),
    ("margin_account", C::T),
    ("liquidator", C::T),
    ("base", C::A),
    ("price", C::A),
    ("realized_pnl", C::A),
    ("liquidator_reward", C::A),
    ("insurance", C::A),
    ("collateral_index", C::N),
    ("tokens", C::A),
];
const LOSS_COLS: Cols = &[
    ("signature", C::T),
    ("event_index", C::N),
    ("block_time", C::N),
    ("seq", C::N),
    ("kind", C::T),
    ("market_index", C::N),
    ("margin_account", C::T),
    ("counterparty", C::T),
    ("round", C::N),
    ("base", C::A),
    ("price", C::A),
    ("amount", C::A),
];
const TRANSFER_COLS: Cols = &[
    ("signature", C::T),
    ("event_index", C::N),
    ("block_time", C::N),
    ("seq", C::N),
    ("kind", C::T),
    ("margin_account", C::T),
    ("collateral_index", C::N),
    ("market_index", C::N),
    ("amount", C::A),
    ("balance_after", C::A),
];
const ORDER_COLS: Cols = &[
    ("signature", C::T),
    ("event_index", C::N),
    ("block_time", C::N),
    ("seq", C::N),
    ("kind", C::T),
    ("margin_account", C::T),
    ("market_index", C::N),
    ("order_id", C::N),
    ("client_order_id", C::U),
    ("order_kind", C::N),
    ("side", C::N),
    ("size", C::U),
    ("price", C::U),
    ("trigger_price", C::U),
    ("reason", C::N),
];
const CANDLE_COLS: Cols = &[
    ("bucket", C::N),
    ("open", C::A),
    ("high", C::A),
    ("low", C::A),
    ("close", C::A),
    ("samples", C::N),
    ("volume_base", C::A),
    ("volume_quote", C::A),
];

fn cols(c: Cols) -> String {
    c.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn to_json(r: &AnyRow, c: Cols) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, (name, kind)) in c.iter().enumerate() {
        let v = match kind {
            C::T => json!(r.try_get::<String, _>(i).unwrap_or_default()),
            C::N => json!(r.try_get::<i64, _>(i).unwrap_or_default()),
            C::A => json!(r.try_get::<i64, _>(i).unwrap_or_default().to_string()),
            C::U => json!((r.try_get::<i64, _>(i).unwrap_or_default() as u64).to_string()),
        };
        m.insert(if *name == "bucket" { "time".to_string() } else { name.to_string() }, v);
    }
    m
}

/// `rows` as a JSON array written straight into `out` (no intermediate values: the candle and
/// history answers are most of the API's work).
fn write_rows(out: &mut String, rows: &[AnyRow], c: Cols) {
    use std::fmt::Write;
    out.push('[');
    for (ri, r) in rows.iter().enumerate() {
        if ri > 0 {
            out.push(',');
        }
        out.push('{');
        for (i, (name, kind)) in c.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(if *name == "bucket" { "time" } else { name });
            out.push_str("\":");
            let _ = match kind {
                C::T => {
                    let v = r.try_get::<String, _>(i).unwrap_or_default();
                    write!(out, "{}", Value::String(v))
                }
                C::N => write!(out, "{}", r.try_get::<i64, _>(i).unwrap_or_default()),
                C::A => write!(out, "\"{}\"", r.try_get::<i64, _>(i).unwrap_or_default()),
                C::U => write!(out, "\"{}\"", r.try_get::<i64, _>(i).unwrap_or_default() as u64),
            };
        }
        out.push('}');
    }
    out.push(']');
}

fn json_body(body: String) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// An error answer: `{"error": reason}` with its status.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}
fn not_found(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, msg.into())
}
fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("api: {e}");
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, "database error".into())
}

type Res = Result<Json<Value>, ApiError>;

/// `/v1/status` is computed at most once per this many seconds and per batch written (it scans
/// the events).
pub const STATUS_CACHE_S: u64 = 5;

async fn status(State(app): State<App>) -> Res {
    let generation = app.hub.1.load(std::sync::atomic::Ordering::Acquire);
    let mut cache = app.status.lock().await;
    if let Some((at, g, v)) = cache.as_ref() {
        if *g == generation && at.elapsed() < std::time::Duration::from_secs(STATUS_CACHE_S) {
            return Ok(Json(v.clone()));
        }
    }
    let v = compute_status(&app.db).await?;
    *cache = Some((std::time::Instant::now(), generation, v.clone()));
    Ok(Json(v))
}

async fn compute_status(db: &Db) -> Result<Value, ApiError> {
    let newest = db.progress(crate::source::NEWEST).await.map_err(internal)?;
    let gaps = db.gaps().await.map_err(internal)?;
    let count = |t: &'static str| async move { db.count(t).await.map_err(internal) };
    let sums = sqlx::query(
        "SELECT CAST(COALESCE(SUM(undecoded), 0) AS BIGINT), CAST(COALESCE(SUM(truncated), 0) AS BIGINT) FROM transactions",
    )
    .fetch_one(&db.pool)
    .await
    .map_err(internal)?;
    let (undecoded, truncated) = (sums.get::<i64, _>(0), sums.get::<i64, _>(1));
    Ok(json!({
        "newest_signature": newest,
        "transactions": count("transactions").await?,
        "events": count("events").await?,
        "undecoded_events": undecoded,
        "truncated_transactions": truncated,
        "gaps_total": gaps.len(),
        "gaps": gaps.iter().take(100).map(|(s, from, to)| json!({"stream": s, "missing_from": from, "next_present": to})).collect::<Vec<_>>(),
    }))
}

async fn markets(State(app): State<App>) -> Res {
    let db = &app.db;
    let rows = sqlx::query("SELECT market_index, name, status, created_time FROM markets ORDER BY market_index")
        .fetch_all(&db.pool)
        .await
        .map_err(internal)?;
    let mut out = Vec::new();
    for r in rows {
        let idx: i64 = r.get(0);
        let last = |kind: &'static str| {
            let sql = db.sql(
                "SELECT close FROM candles WHERE market_index = $1 AND kind = $2 AND resolution = 60 ORDER BY bucket DESC LIMIT 1",
            );
            async move {
                let r = sqlx::query(&sql).bind(idx).bind(kind).fetch_optional(&db.pool).await.map_err(internal)?;
                Ok::<_, ApiError>(r.map(|r| r.get::<i64, _>(0).to_string()))
            }
        };
        out.push(json!({
            "market_index": idx,
            "name": r.get::<String, _>(1),
            "status": r.get::<i64, _>(2),
            "created_time": r.get::<i64, _>(3),
            "last_mark": last("mark").await?,
            "last_index": last("index").await?,
        }));
    }
    Ok(Json(Value::Array(out)))
}

fn market_param(s: &str) -> Result<u16, ApiError> {
    s.parse::<u16>().map_err(|_| bad(format!("market must be a market index (0-65535), not {s:?}")))
}

async fn known_market(db: &Db, m: u16) -> Result<(), ApiError> {
    let r = sqlx::query(&db.sql("SELECT 1 FROM markets WHERE market_index = $1"))
        .bind(m as i64)
        .fetch_optional(&db.pool)
        .await
        .map_err(internal)?;
    r.map(|_| ()).ok_or_else(|| not_found(format!("no market {m} in the indexed history")))
}

/// At most this many candles per request.
pub const MAX_CANDLES: i64 = 5_000;

#[derive(Deserialize)]
struct CandleQuery {
    resolution: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn int_param(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    v.as_deref().map(|s| s.parse::<i64>().map_err(|_| bad(format!("{name} must be an integer, not {s:?}")))).transpose()
}

async fn candles(
    State(app): State<App>,
    Path(market): Path<String>,
    Query(q): Query<CandleQuery>,
) -> Result<Response, ApiError> {
    let m = market_param(&market)?;
    let res_name = q.resolution.as_deref().unwrap_or("1m");
    let res =
        resolution(res_name).ok_or_else(|| bad(format!("resolution must be 1m, 5m, 1h or 1d, not {res_name:?}")))?;
    let kind = q.kind.as_deref().unwrap_or("mark");
    if kind != "mark" && kind != "index" {
        return Err(bad(format!("kind must be mark or index, not {kind:?}")));
    }
    let to = int_param("to", &q.to)?;
    let from = int_param("from", &q.from)?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(bad(format!("from ({f}) is after to ({t})")));
        }
    }
    known_market(&app.db, m).await?;
    let cols = cols(CANDLE_COLS);
    let rows = match from {
        // from the bucket holding `from`, oldest first
        Some(f) => {
            let start = f
                .checked_div_euclid(res)
                .and_then(|b| b.checked_mul(res))
                .ok_or_else(|| bad("from is out of range"))?;
            let sql = app.db.sql(&format!(
                "SELECT {cols} FROM candles WHERE market_index = $1 AND kind = $2 AND resolution = $3 AND bucket >= $4 AND bucket <= $5
                 ORDER BY bucket LIMIT $6"
            ));
            let rows = sqlx::query(&sql)
                .bind(m as i64)
                .bind(kind)
                .bind(res)
                .bind(start)
                .bind(to.unwrap_or(i64::MAX))
                .bind(MAX_CANDLES + 1)
                .fetch_all(&app.db.pool)
                .await
                .map_err(internal)?;
            if rows.len() as i64 > MAX_CANDLES {
                return Err(bad(format!(
                    "more than {MAX_CANDLES} candles in that range: narrow from/to or take a larger resolution"
                )));
            }
            rows
        }
        // no `from`: the newest candles up to `to` (at most MAX_CANDLES), oldest first
        None => {
            let sql = app.db.sql(&format!(
                "SELECT {cols} FROM candles WHERE market_index = $1 AND kind = $2 AND resolution = $3 AND bucket <= $4
                 ORDER BY bucket DESC LIMIT $5"
            ));
            let mut rows = sqlx::query(&sql)
                .bind(m as i64)
                .bind(kind)
                .bind(res)
                .bind(to.unwrap_or(i64::MAX))
                .bind(MAX_CANDLES)
                .fetch_all(&app.db.pool)
                .await
                .map_err(internal)?;
            rows.reverse();
            rows
        }
    };
    // kind and resolution were checked against fixed lists: no escaping needed
    let mut out = format!("{{\"market_index\":{m},\"kind\":\"{kind}\",\"resolution\":\"{res_name}\",\"candles\":");
    write_rows(&mut out, &rows, CANDLE_COLS);
    out.push('}');
    Ok(json_body(out))
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// Default and largest page sizes.
pub const PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1_000;

/// `block_time.signature.event_index` of the last item of a page.
fn parse_cursor(c: &str) -> Result<(i64, String, i64), ApiError> {
    let mut p = c.splitn(3, '.');
    let (t, s, i) = (p.next(), p.next(), p.next());
    match (t.and_then(|t| t.parse().ok()), s, i.and_then(|i| i.parse().ok())) {
        (Some(t), Some(s), Some(i)) if !s.is_empty() => Ok((t, s.to_string(), i)),
        _ => Err(bad(format!("cursor {c:?} is not one this API returned"))),
    }
}

/// One page of `table` rows where `filter_col = filter`, newest first.
async fn page(
    db: &Db,
    table: &str,
    c: Cols,
    filter: (&str, Value),
    extra: Option<(&str, &str)>,
    q: &PageQuery,
) -> Result<Response, ApiError> {
    let limit = match int_param("limit", &q.limit)? {
        None => PAGE,
        Some(l) if (1..=MAX_PAGE).contains(&l) => l,
        Some(l) => return Err(bad(format!("limit must be between 1 and {MAX_PAGE}, not {l}"))),
    };
    let cursor = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut sql = format!("SELECT {} FROM {table} WHERE {} = $1", cols(c), filter.0);
    let mut n = 1;
    if let Some((col, _)) = extra {
        n += 1;
        sql.push_str(&format!(" AND {col} = ${n}"));
    }
    if cursor.is_some() {
        sql.push_str(&format!(
            " AND (block_time < ${a} OR (block_time = ${a} AND (signature < ${b} OR (signature = ${b} AND event_index < ${c}))))",
            a = n + 1,
            b = n + 2,
            c = n + 3
        ));
        n += 3;
    }
    sql.push_str(&format!(" ORDER BY block_time DESC, signature DESC, event_index DESC LIMIT ${}", n + 1));
    let sql = db.sql(&sql);
    let mut query = sqlx::query(&sql);
    query = match filter.1 {
        Value::Number(x) => query.bind(x.as_i64().unwrap_or(-1)),
        other => query.bind(other.as_str().unwrap_or_default().to_string()),
    };
    if let Some((_, v)) = extra {
        query = query.bind(v.to_string());
    }
    if let Some((t, s, i)) = cursor {
        query = query.bind(t).bind(s).bind(i);
    }
    let rows = query.bind(limit).fetch_all(&db.pool).await.map_err(internal)?;
    let col = |n: &str| c.iter().position(|(name, _)| *name == n).expect("paged tables have these columns");
    let (bt, sg, ei) = (col("block_time"), col("signature"), col("event_index"));
    let next = (rows.len() as i64 == limit).then(|| rows.last()).flatten().map(|l| {
        let t: i64 = l.try_get(bt).unwrap_or_default();
        let s: String = l.try_get(sg).unwrap_or_default();
        let i: i64 = l.try_get(ei).unwrap_or_default();
        Value::String(format!("{t}.{s}.{i}"))
    });
    let mut out = String::with_capacity(64 + rows.len() * 400);
    out.push_str("{\"items\":");
    write_rows(&mut out, &rows, c);
    out.push_str(&format!(",\"next_cursor\":{}}}", next.unwrap_or(Value::Null)));
    Ok(json_body(out))
}

macro_rules! market_list {
    ($name:ident, $table:expr, $cols:expr) => {
        async fn $name(
            State(app): State<App>,
            Path(market): Path<String>,
            Query(q): Query<PageQuery>,
        ) -> Result<Response, ApiError> {
            let m = market_param(&market)?;
            known_market(&app.db, m).await?;
            page(&app.db, $table, $cols, ("market_index", json!(m)), None, &q).await
        }
    };
}
market_list!(market_trades, "fills", FILL_COLS);
market_list!(market_funding, "funding_rates", FUNDING_RATE_COLS);
market_list!(market_liquidations, "liquidations", LIQUIDATION_COLS);
market_list!(market_adl, "losses", LOSS_COLS);

async fn known_account(db: &Db, a: &str) -> Result<String, ApiError> {
    let key = Pubkey::from_str(a).map_err(|_| bad(format!("account must be a base58 public key, not {a:?}")))?;
    let r = sqlx::query(&db.sql("SELECT 1 FROM accounts WHERE margin_account = $1"))
        .bind(key.to_string())
        .fetch_optional(&db.pool)
        .await
        .map_err(internal)?;
    r.map(|_| key.to_string()).ok_or_else(|| not_found(format!("no margin account {key} in the indexed history")))
}

macro_rules! account_list {
    ($name:ident, $table:expr, $cols:expr, $col:expr) => {
        async fn $name(
            State(app): State<App>,
            Path(account): Path<String>,
            Query(q): Query<PageQuery>,
        ) -> Result<Response, ApiError> {
            let a = known_account(&app.db, &account).await?;
            page(&app.db, $table, $cols, ($col, json!(a)), None, &q).await
        }
    };
}
account_list!(account_fills, "fills", FILL_COLS, "margin_account");
account_list!(account_funding, "funding_payments", FUNDING_PAYMENT_COLS, "margin_account");
account_list!(account_liquidations, "liquidations", LIQUIDATION_COLS, "margin_account");
account_list!(account_transfers, "transfers", TRANSFER_COLS, "margin_account");
account_list!(account_orders, "order_events", ORDER_COLS, "margin_account");

/// `/v1/stream?market=N`: fills and 1-minute candles as they are written (of one market, or all).
async fn stream(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let market = q.get("market").map(|m| market_param(m)).transpose()?;
    let rx = app.hub.0.subscribe();
    Ok(ws.on_upgrade(move |socket| forward(socket, rx, market)))
}

async fn forward(mut socket: WebSocket, mut rx: broadcast::Receiver<String>, market: Option<u16>) {
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(text) => {
                    if let Some(m) = market {
                        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if v["market_index"].as_u64() != Some(m as u64) {
                            continue;
                        }
                    }
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let note = json!({"type": "lagged", "missed": n}).to_string();
                    if socket.send(Message::Text(note.into())).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}
