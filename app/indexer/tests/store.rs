//! The indexer's suite, run on SQLite and on PostgreSQL alike: writing a session of events
//! (idempotent, in any order), gap and bad-event detection, candles against hand-computed
//! values, and the HTTP API (values, 400 and 404 answers, cursor pagination, the checked-in
//! OpenAPI description, the websocket stream).

mod common;

use common::*;
use perp_client::events::Event;
use perp_indexer::api::{router, Hub};
use perp_indexer::db::Db;
use perp_indexer::ingest::{ingest, IngestStats};
use serde_json::Value;
use sqlx::Row;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_sqlite() {
    suite(|| async { sqlite() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_postgresql() {
    let pg = Pg::start();
    suite(|| pg.database()).await;
}

async fn suite<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let url = fresh().await;
    let db = Db::connect(&url).await.unwrap();
    history_round_trip(&db).await;
    any_order_gives_the_same_history(&db, &Db::connect(&fresh().await).await.unwrap()).await;
    gaps_and_bad_events(&Db::connect(&fresh().await).await.unwrap()).await;
    api(&db).await;
    // migrations are versioned: connecting again applies none and keeps the data
    let again = Db::connect(&url).await.unwrap();
    assert_eq!(again.count("fills").await.unwrap(), 3);
}

async fn history_round_trip(db: &Db) {
    let s = session();
    let (stats, candles, fills) = ingest(db, &s).await.unwrap();
    assert_eq!(stats, IngestStats { transactions: 8, duplicates: 0, events: 12, undecoded: 0, truncated: 0 });
    assert_eq!(fills, vec!["sig04:0".to_string(), "sig06:0".to_string()]);
    assert!(candles.iter().all(|k| k.2 == 60));
    // the same transactions again (a restart, a replayed batch): nothing written twice
    let (again, _, _) = ingest(db, &s).await.unwrap();
    assert_eq!(again.duplicates, 8);
    assert_eq!(again.transactions, 0);
    for (table, n) in [
        ("transactions", 8),
        ("events", 12),
        ("fills", 2),
        ("funding_rates", 1),
        ("funding_payments", 1),
        ("liquidations", 1),
        ("transfers", 2),
        ("order_events", 1),
        ("markets", 1),
        ("accounts", 2),
    ] {
        assert_eq!(db.count(table).await.unwrap(), n, "{table}");
    }
    assert!(db.gaps().await.unwrap().is_empty(), "{:?}", db.gaps().await.unwrap());
    // A's fill: 1 BTC bought for 65,000 USDC, fee 32.5 USDC
    let r = sqlx::query(&db.sql("SELECT base, quote, fee, mark_price FROM fills WHERE margin_account = $1"))
        .bind(key(A).to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let got: (i64, i64, i64, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
    assert_eq!(got, (BTC, -65_000 * USDC, 32_500_000, 65_010 * USDC));
    // candles, hand-computed (prices in 10^-6 USD)
    let candle = |kind: &'static str, res: i64, bucket: i64| async move {
        let r = sqlx::query(&db.sql(
            "SELECT open, high, low, close, samples, volume_base, volume_quote FROM candles
             WHERE market_index = 0 AND kind = $1 AND resolution = $2 AND bucket = $3",
        ))
        .bind(kind)
        .bind(res)
        .bind(bucket)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{kind} {res} {bucket}: {e}"));
        (0..7).map(|i| r.get::<i64, _>(i)).collect::<Vec<_>>()
    };
    let u = USDC;
    // 10:00 1m mark: A's trade only
    assert_eq!(candle("mark", 60, T0).await, vec![65_010 * u, 65_010 * u, 65_010 * u, 65_010 * u, 1, BTC, 65_000 * u]);
    // 10:01 1m index: the sample (#3, 65,100) then B's trade (#4, 65,150)
    assert_eq!(candle("index", 60, T0 + 60).await, vec![65_100 * u, 65_150 * u, 65_100 * u, 65_150 * u, 2, 0, 0]);
    // 10:00 1h mark: 65,010 (#2) -> 65,190 (#4); volume 1.5 BTC, 97,600 USDC
    assert_eq!(
        candle("mark", 3_600, T0).await,
        vec![65_010 * u, 65_190 * u, 65_010 * u, 65_190 * u, 2, 3 * BTC / 2, 97_600 * u]
    );
    // 11:00 1h mark: funding 65,300 (#5) -> liquidation 60,000 (#6)
    assert_eq!(candle("mark", 3_600, T0 + 3_600).await, vec![65_300 * u, 65_300 * u, 60_000 * u, 60_000 * u, 2, 0, 0]);
    // the day: all four marks
    let day = T0 - T0 % 86_400;
    assert_eq!(
        candle("mark", 86_400, day).await,
        vec![65_010 * u, 65_300 * u, 60_000 * u, 60_000 * u, 4, 3 * BTC / 2, 97_600 * u]
    );
}

async fn all_candles(db: &Db) -> Vec<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT market_index, resolution, bucket, open, high, low, close, samples, volume_base FROM candles
         ORDER BY market_index, kind, resolution, bucket",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.iter().map(|r| (0..9).map(|i| r.get::<i64, _>(i)).collect()).collect()
}

async fn any_order_gives_the_same_history(a: &Db, b: &Db) {
    // newest first, one transaction per batch, each batch twice
    for t in session().into_iter().rev() {
        ingest(b, std::slice::from_ref(&t)).await.unwrap();
        ingest(b, &[t]).await.unwrap();
    }
    assert_eq!(all_candles(a).await, all_candles(b).await);
    assert_eq!(b.count("events").await.unwrap(), 12);
    assert!(b.gaps().await.unwrap().is_empty());
}

async fn gaps_and_bad_events(db: &Db) {
    let mut s = session();
    // transaction sig06 (market #4) never arrives
    s.remove(5);
    // a transaction with lines that do not decode: garbage, an unknown discriminator, a line another
    // program wrote; and a truncated log
    let mut bad = tx("sig09", 300, T0 + 7_200, &[trade(7, key(A), BTC, 60_000, 60_000, 60_000)]);
    bad.logs.insert(2, "Program data: AAECAwQFBgcICQ==".into());
    bad.logs.insert(2, "Program data: not base64 at all".into());
    bad.logs.push("Log truncated".into());
    let mut foreign = tx("sig10", 301, T0 + 7_201, &[]);
    foreign.logs = vec![
        "Program 11111111111111111111111111111111 invoke [1]".into(),
        perp_client::events::log_line(&trade(8, key(B), BTC, 1, 1, 1)),
        "Program 11111111111111111111111111111111 success".into(),
    ];
    s.push(bad);
    s.push(foreign);
    let (stats, _, _) = ingest(db, &s).await.unwrap();
    assert_eq!((stats.transactions, stats.events, stats.undecoded, stats.truncated), (9, 12, 2, 1));
    // the undecodable lines are kept with their place
    let r = sqlx::query(&db.sql("SELECT COUNT(*) FROM events WHERE signature = $1 AND name IS NULL"))
        .bind("sig09")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(r.get::<i64, _>(0), 2);
    // market 0: #3 then #5 (#4 missing), then #7 after #6 (#6 present): one gap
    let gaps = db.gaps().await.unwrap();
    assert_eq!(gaps, vec![("market:0".to_string(), 4, 5)], "{gaps:?}");
    // the missing transaction arrives late: the gap closes, wherever it lands in the batch order
    ingest(db, &session()[5..6]).await.unwrap();
    assert!(db.gaps().await.unwrap().is_empty());
    // the other program's copy of a perp event was not taken
    assert_eq!(db.count("fills").await.unwrap(), 3);
    // a market is known from any of its events (its creation may be older than the node's
    // history), and a name is read as the program reads it: up to the first NUL, no control bytes
    let sampled = Event::FundingSampled(perp::events::FundingSampled {
        seq: 40,
        market_index: 3,
        index_price: 1,
        impact_bid: 0,
        impact_ask: 0,
        premium: 0,
        seconds: 60,
    });
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"ETH\x01-PERP\0xy");
    let created =
        Event::MarketCreated(perp::events::MarketCreated { seq: 1, market_index: 4, name, peg: 0, base_reserve: 0 });
    ingest(db, &[tx("sig11", 302, T0 + 7_202, &[sampled, created])]).await.unwrap();
    let names =
        sqlx::query("SELECT market_index, name FROM markets ORDER BY market_index").fetch_all(&db.pool).await.unwrap();
    let names: Vec<(i64, String)> = names.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(names, vec![(0, "BTC-PERP".into()), (3, String::new()), (4, "ETH-PERP".into())]);
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn api(db: &Db) {
    let hub = Hub::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(db.clone(), hub.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (a, b) = (key(A).to_string(), key(B).to_string());

    let (st, v) = get(&base, "/v1/markets").await;
    assert_eq!(st, 200);
    // a page served from another origin may read the history (cached answers and errors too)
    for path in ["/v1/markets", "/v1/markets", "/v1/markets/x/candles"] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(r.headers().get("access-control-allow-origin").map(|h| h.to_str().unwrap()), Some("*"), "{path}");
    }
    assert_eq!(v[0]["name"], "BTC-PERP");
    assert_eq!(v[0]["last_mark"], (60_000 * USDC).to_string());
    assert_eq!(v[0]["last_index"], (60_050 * USDC).to_string());

    let (st, v) =
        get(&base, &format!("/v1/markets/0/candles?resolution=1h&kind=mark&from={T0}&to={}", T0 + 7_199)).await;
    assert_eq!(st, 200, "{v}");
    let c = v["candles"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0]["time"].as_i64(), c[0]["open"].as_str(), c[0]["close"].as_str()),
        (Some(T0), Some("65010000000"), Some("65190000000"))
    );
    assert_eq!(c[1]["low"], "60000000000");
    // without from: the newest candles, oldest first
    let (st, v) = get(&base, "/v1/markets/0/candles?resolution=1h").await;
    assert_eq!((st, v["candles"].as_array().map(|c| c.len())), (200, Some(2)), "{v}");
    assert_eq!(v["candles"][1]["close"], "60000000000");
    let (st, v) = get(&base, "/v1/markets/0/candles?resolution=1m&kind=index").await;
    assert_eq!((st, v["candles"][0]["time"].as_i64()), (200, Some(T0)), "{v}");

    let (st, v) = get(&base, &format!("/v1/accounts/{a}/funding")).await;
    assert_eq!(st, 200);
    assert_eq!(v["items"][0]["payment"], "650000");
    let (_, v) = get(&base, &format!("/v1/accounts/{a}/liquidations")).await;
    assert_eq!(
        (v["items"][0]["liquidator"].as_str(), v["items"][0]["kind"].as_str()),
        (Some(b.as_str()), Some("takeover"))
    );
    let (_, v) = get(&base, &format!("/v1/accounts/{a}/transfers")).await;
    assert_eq!(v["items"][0]["amount"], (10_000 * USDC).to_string());
    let (_, v) = get(&base, &format!("/v1/accounts/{b}/orders")).await;
    assert_eq!(
        (v["items"][0]["kind"].as_str(), v["items"][0]["client_order_id"].as_str()),
        (Some("placed"), Some("18000000000000000000"))
    );

    // pagination: one fill per page, newest first, no repeat, then the end
    let (_, p1) = get(&base, "/v1/markets/0/trades?limit=1").await;
    assert_eq!(p1["items"][0]["signature"], "sig06");
    let cur = p1["next_cursor"].as_str().unwrap().to_string();
    let (_, p2) = get(&base, &format!("/v1/markets/0/trades?limit=1&cursor={cur}")).await;
    assert_eq!(p2["items"][0]["signature"], "sig04");
    let cur = p2["next_cursor"].as_str().unwrap().to_string();
    let (_, p3) = get(&base, &format!("/v1/markets/0/trades?limit=1&cursor={cur}")).await;
    assert_eq!((p3["items"].as_array().unwrap().len(), &p3["next_cursor"]), (0, &Value::Null));

    // bad parameters: 400 with the reason; unknown market or account: 404
    for (path, status, words) in [
        ("/v1/markets/0/candles?resolution=2h".to_string(), 400, "resolution"),
        ("/v1/markets/0/candles?kind=last".to_string(), 400, "kind"),
        (format!("/v1/markets/0/candles?from={}&to={T0}", T0 + 1), 400, "after"),
        ("/v1/markets/0/candles?from=yesterday".to_string(), 400, "integer"),
        (format!("/v1/markets/0/candles?from={}", i64::MIN), 400, "out of range"),
        ("/v1/markets/btc/trades".to_string(), 400, "market index"),
        ("/v1/markets/7/trades".to_string(), 404, "no market 7"),
        ("/v1/markets/0/trades?limit=0".to_string(), 400, "limit"),
        ("/v1/markets/0/trades?limit=5000".to_string(), 400, "limit"),
        ("/v1/markets/0/trades?cursor=abc".to_string(), 400, "cursor"),
        ("/v1/accounts/not-a-key/fills".to_string(), 400, "base58"),
        (format!("/v1/accounts/{}/fills", key(9)), 404, "no margin account"),
    ] {
        let (st, v) = get(&base, &path).await;
        assert_eq!(st, status, "{path}: {v}");
        assert!(v["error"].as_str().unwrap_or_default().contains(words), "{path}: {v}");
    }

    let (st, v) = get(&base, "/v1/status").await;
    assert_eq!((st, v["transactions"].as_i64(), v["gaps"].as_array().map(|g| g.len())), (200, Some(8), Some(0)));

    openapi_matches(&base, &a).await;
    stream(&base, db, &hub).await;
}

/// Every path of `openapi.json` answers as described (JSON validated against its schema, the
/// listed error answers too), and the server routes exactly the described paths.
async fn openapi_matches(base: &str, account: &str) {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("app/indexer/openapi.json")).unwrap()).unwrap();
    let src = std::fs::read_to_string(repo().join("app/indexer/src/api.rs")).unwrap();
    let routed: std::collections::BTreeSet<String> =
        src.split(".route(\"").skip(1).map(|s| s.split('"').next().unwrap().to_string()).collect();
    let described: std::collections::BTreeSet<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(routed, described, "routes in api.rs and paths in openapi.json differ");
    for (path, item) in spec["paths"].as_object().unwrap() {
        if path == "/v1/stream" {
            continue; // a websocket: tested in `stream`
        }
        let url = path.replace("{market}", "0").replace("{account}", account);
        let (st, body) = get(base, &url).await;
        assert_eq!(st, 200, "{url}: {body}");
        let schema = &item["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        validate(&body, schema, &spec, &url).unwrap_or_else(|e| panic!("{e}"));
        for (code, bad_url) in [
            ("400", path.replace("{market}", "x").replace("{account}", "x")),
            ("404", path.replace("{market}", "9").replace("{account}", &key(9).to_string())),
        ] {
            if let Some(r) = item["get"]["responses"].get(code) {
                let (st, body) = get(base, &bad_url).await;
                assert_eq!(st.to_string(), code, "{bad_url}");
                validate(&body, &r["content"]["application/json"]["schema"], &spec, &bad_url)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}

/// The OpenAPI 3.0 subset the description uses: $ref, type, nullable, required, properties,
/// additionalProperties false, items, enum, pattern (digits only).
fn validate(v: &Value, s: &Value, root: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = s["$ref"].as_str() {
        let mut target = root;
        for part in r.trim_start_matches("#/").split('/') {
            target = &target[part];
        }
        return validate(v, target, root, at);
    }
    if v.is_null() {
        return if s["nullable"].as_bool() == Some(true) {
            Ok(())
        } else {
            Err(format!("{at}: null where {s} expected"))
        };
    }
    let ok = match s["type"].as_str() {
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        _ => true,
    };
    if !ok {
        return Err(format!("{at}: {v} is not of type {}", s["type"]));
    }
    if let Some(e) = s["enum"].as_array() {
        if !e.contains(v) {
            return Err(format!("{at}: {v} not in {e:?}"));
        }
    }
    if s["pattern"].as_str() == Some("^-?[0-9]+$") {
        let t = v.as_str().unwrap_or_default();
        if t.trim_start_matches('-').is_empty() || !t.trim_start_matches('-').chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("{at}: {v} is not a decimal integer string"));
        }
    }
    if let Some(o) = v.as_object() {
        let props = s["properties"].as_object();
        for req in s["required"].as_array().into_iter().flatten() {
            if !o.contains_key(req.as_str().unwrap()) {
                return Err(format!("{at}: missing {req}"));
            }
        }
        for (k, x) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(x, ps, root, &format!("{at}.{k}"))?,
                None if s["additionalProperties"] == Value::Bool(false) => {
                    return Err(format!("{at}: {k} is not described"))
                }
                None => {}
            }
        }
    }
    if let Some(a) = v.as_array() {
        for (i, x) in a.iter().enumerate() {
            validate(x, &s["items"], root, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// A websocket client sees a fill and its candle after the batch is written.
async fn stream(base: &str, db: &Db, hub: &Hub) {
    use futures_util::StreamExt;
    let ws = base.replace("http://", "ws://");
    let (mut sock, _) = tokio_tungstenite::connect_async(format!("{ws}/v1/stream?market=0")).await.unwrap();
    // the subscription is registered once the upgrade completes
    for _ in 0..100 {
        if hub.0.receiver_count() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // an answer is cached until the next batch: twice the same, then the new fill
    let (_, before) = get(base, "/v1/markets/0/trades?limit=1").await;
    let again = reqwest::get(format!("{base}/v1/markets/0/trades?limit=1")).await.unwrap();
    assert_eq!(again.headers()["x-cache"], "hit");
    assert_eq!(before, again.json::<Value>().await.unwrap());
    let t = tx("sig20", 400, T0 + 7_300, &[trade(9, key(B), BTC / 4, 61_000, 61_000, 61_010)]);
    let (stats, candles, fills) = ingest(db, &[t]).await.unwrap();
    hub.publish(db, &stats, &candles, &fills);
    let (_, after) = get(base, "/v1/markets/0/trades?limit=1").await;
    assert_eq!(after["items"][0]["signature"], "sig20", "a cached answer outlived its batch: {after}");
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let m =
            tokio::time::timeout(std::time::Duration::from_secs(10), sock.next()).await.expect("a message within 10 s");
        let text = m.unwrap().unwrap().into_text().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["type"] == "fill" {
            assert_eq!((v["signature"].as_str(), v["base"].as_str()), (Some("sig20"), Some("250000000")));
        }
        kinds.push(v["type"].as_str().unwrap().to_string());
    }
    kinds.sort();
    assert_eq!(kinds, vec!["candle", "candle", "fill"]); // mark and index
}
