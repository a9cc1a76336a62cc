//! `perp history` and `perp indexer` as a user meets them: the real binary against the indexer's
//! API (served here over a SQLite history written with the indexer's code), amounts in units, and
//! what it says when no indexer answers or a parameter is wrong.

use perp::events as ev;
use perp_client::events::{log_line, Event};
use perp_indexer::api::{router, Hub};
use perp_indexer::db::Db;
use perp_indexer::ingest::{ingest, TxRecord};
use serde_json::Value;
use std::process::Command;

fn perp(args: &[&str]) -> (i32, Value, String) {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = Command::new(env!("CARGO_BIN_EXE_perp")).args(&a).output().expect("run perp");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

const KEY: [u8; 32] = [0xa1; 32];

/// An API over one fill (0.25 BTC bought at 65,000.5) and one funding payment (1.5 USDC paid).
async fn serve() -> String {
    let path = std::env::temp_dir().join(format!("perp-history-cli-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = Db::connect(path.to_str().unwrap()).await.unwrap();
    let acct = anchor_lang::prelude::Pubkey::new_from_array(KEY);
    let fill = Event::TradeExecuted(ev::TradeExecuted {
        seq: 1,
        margin_account: acct,
        market_index: 0,
        base: 250_000_000,
        quote: -16_250_125_000,
        avg_price: 65_000_500_000,
        fee: 8_125_063,
        insurance_fee: 0,
        realized_pnl: 0,
        new_base: 250_000_000,
        new_quote_entry: -16_250_125_000,
        index_price: 65_000_000_000,
        mark_price: 65_001_000_000,
        vamm_price: 65_001_000_000,
        isolated: false,
        index_was_fallback: false,
        by_delegate: false,
    });
    let paid =
        Event::FundingSettled(ev::FundingSettled { seq: 1, margin_account: acct, market_index: 0, payment: 1_500_000 });
    let tx = |sig: &str, e: &Event| TxRecord {
        signature: sig.into(),
        slot: 1,
        block_time: 1_764_583_200,
        logs: vec![format!("Program {} invoke [1]", perp::ID), log_line(e), format!("Program {} success", perp::ID)],
    };
    ingest(&db, &[tx("s1", &fill), tx("s2", &paid)]).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(db, Hub::default());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_reads_the_api_in_units() {
    let api = serve().await;
    let acct = anchor_lang::prelude::Pubkey::new_from_array(KEY).to_string();
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        perp(&args)
    };
    let (code, v, err) = tokio::task::spawn_blocking({
        let (api, acct) = (api.clone(), acct.clone());
        move || run(vec!["history".into(), "fills".into(), "--account".into(), acct, "--api".into(), api])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let f = &v["fills"][0];
    assert_eq!(
        (f["base"].as_str(), f["price"].as_str(), f["fee"].as_str()),
        (Some("0.25"), Some("65000.5"), Some("8.125063")),
        "{v}"
    );
    assert_eq!(f["time"], "2025-12-01 10:00:00");
    let (code, v, _) = tokio::task::spawn_blocking({
        let (api, acct) = (api.clone(), acct.clone());
        move || run(vec!["history".into(), "funding".into(), "--account".into(), acct, "--api".into(), api])
    })
    .await
    .unwrap();
    assert_eq!((code, v["funding"][0]["paid"].as_str()), (0, Some("1.5")), "{v}");
    // an account the indexer never saw: 404 -> exit 1 with the reason
    let (code, _, err) = tokio::task::spawn_blocking({
        let api = api.clone();
        move || {
            run(vec![
                "history".into(),
                "fills".into(),
                "--account".into(),
                "11111111111111111111111111111111".into(),
                "--api".into(),
                api,
            ])
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("no margin account"), "{err}");
    // a bad parameter: exit 2, one line
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        run(vec!["history".into(), "candles".into(), "--resolution".into(), "2h".into(), "--api".into(), api])
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("1m, 5m, 1h or 1d"), "{err}");
}

#[test]
fn no_indexer_running_says_how_to_start_one() {
    let api = format!("http://127.0.0.1:{}", free_port());
    let (code, _, err) = perp(&["history", "fills", "--account", "11111111111111111111111111111111", "--api", &api]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no indexer answers at") && err.contains("perp indexer"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn indexer_input_errors_are_clear() {
    let (code, _, err) = perp(&["indexer", "--listen", "everywhere", "--once"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--listen everywhere"), "{err}");
    let (code, _, err) = perp(&["indexer", "--db", "/nonexistent-dir/x/history.db", "--listen", "off", "--once"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot open the SQLite file"), "{err}");
    let (code, _, err) = perp(&["indexer", "--db", "postgres://perp@127.0.0.1:1/none", "--listen", "off", "--once"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot connect to PostgreSQL") && err.contains("scripts/pg"), "{err}");
}
