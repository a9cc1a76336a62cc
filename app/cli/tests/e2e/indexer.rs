//! `perp indexer` against `perp localnet`, into PostgreSQL (a throwaway server, scripts/pg): two
//! traders trade from the CLI, the keeper cranks funding (a 20 s interval in this test's config)
//! and liquidates one of them after the feed falls; the indexer is killed (SIGKILL) in the middle
//! and started again. Read back through the API and `perp history`: every finalized transaction of
//! the program stored once, no gap in any event stream, the trades, funding and the liquidation
//! there, and how long a fill took to be served after its transaction was confirmed.

use super::*;
use std::process::Command;

struct PgServer(std::path::PathBuf, String);

impl PgServer {
    fn start(port: u16) -> PgServer {
        let dir = std::env::temp_dir().join(format!("perp-e2e-pg-{}", std::process::id()));
        let out = Command::new(repo().join("scripts/pg"))
            .args(["start", dir.to_str().unwrap(), &port.to_string()])
            .output()
            .expect("scripts/pg");
        assert!(out.status.success(), "scripts/pg start: {}", String::from_utf8_lossy(&out.stderr));
        PgServer(dir, String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/pg")).args(["stop", self.0.to_str().unwrap()]).status();
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("initdb.log"));
    }
}

fn api_get(base: &str, path: &str) -> Value {
    let out = Command::new("curl").args(["-s", "--max-time", "5", &format!("{base}{path}")]).output().expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn indexer(rpc: &str, db: &str, listen: &str) -> Proc {
    let mut cmd = perp();
    cmd.args(["--rpc", rpc, "indexer", "--db", db, "--listen", listen, "--poll", "2", "--log-json"]);
    let p = Proc::spawn(cmd, "indexer", libc::SIGINT);
    let ok = p
        .err
        .wait_for(&["API on"], Duration::from_secs(60))
        .or_else(|| p.out.wait_for(&["API on"], Duration::from_secs(1)));
    assert!(ok.is_some(), "the indexer did not start:\n{}\n{}", p.out.dump(), p.err.dump());
    p
}

/// Waits until `f` returns `Some`, up to `secs`.
fn until<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> (T, Duration) {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return (v, start.elapsed());
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_indexer_history_in_postgresql_across_a_restart() {
    let _g = serial();
    let t_start = Instant::now();
    let dir = tempdir();
    let ports = Ports { base: 31_000 };
    let pg = PgServer::start(ports.base + 70);
    let (admin_path, admin) = keypair(&dir, "admin");
    let (mut localnet, ready) = start_localnet_as(ports, &dir.join("ledger"), true, false, Some(&admin_path));
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    cli(&rpc, None, &["localnet", "faucet", "--to", &admin.pubkey().to_string(), "--usdc", "100000"]);
    // the localnet config with funding every 20 s (samples every 10 s)
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("migrations/localnet.json")).unwrap()).unwrap();
    config["markets"][0]["funding_interval_s"] = json!(20);
    config["markets"][0]["sample_period_s"] = json!(10);
    let config_path = dir.join("localnet-fast-funding.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    cli(&rpc, Some(&admin_path), &["admin", "init", "--config", config_path.to_str().unwrap()]);
    let p0 = first_price(&ready);
    let pusher = Pusher::start(rpc.clone(), p0, Duration::from_millis(1500));
    pusher.written(Duration::from_secs(30));

    let listen = format!("127.0.0.1:{}", ports.base + 71);
    let api = format!("http://{listen}");
    let mut idx = indexer(&rpc, &pg.1, &listen);

    let (a_path, a) = keypair(&dir, "alice");
    let (b_path, _b) = keypair(&dir, "bob");
    let (k_path, _k) = keypair(&dir, "keeper");
    for (p, deposit) in [(&a_path, "1000"), (&b_path, "5000"), (&k_path, "5000")] {
        cli(&rpc, Some(p), &["localnet", "faucet", "--usdc", "10000"]);
        cli(&rpc, Some(p), &["account", "create"]);
        cli(&rpc, Some(p), &["account", "deposit", "--amount", deposit]);
    }
    let a_account = perp_client::pda::margin_account(&a.pubkey(), 0).to_string();
    let buy = cli(&rpc, Some(&a_path), &["trade", "buy", "--market", "0", "--size", "0.9"]);
    let confirmed = Instant::now();
    let sig = buy["signature"].as_str().unwrap().to_string();
    cli(&rpc, Some(&b_path), &["trade", "sell", "--market", "0", "--size", "0.5"]);
    // the fill is served once its block is finalized and the indexer has written it
    until(90, "Alice's fill in the API", || {
        let v = api_get(&api, &format!("/v1/accounts/{a_account}/fills"));
        v["items"].as_array().filter(|i| i.iter().any(|f| f["signature"] == json!(sig))).map(|_| ())
    });
    let fill_latency = confirmed.elapsed();

    // the keeper: funding samples and updates every 10 / 20 s, then the liquidation
    let mut keeper = start_keeper(&rpc, &k_path, "auto");
    // a funding rate is applied (and indexed) ...
    until(120, "a funding rate in the API", || {
        let v = api_get(&api, "/v1/markets/0/funding");
        v["items"].as_array().filter(|i| !i.is_empty()).map(|_| ())
    });
    // ... then the indexer dies mid-stream, without a chance to finish anything
    idx.child.kill().unwrap(); // SIGKILL
    idx.child.wait().unwrap();
    // the price falls in steps until the keeper liquidates Alice, while no indexer runs
    let mut price = p0;
    let deadline = Instant::now() + Duration::from_secs(180);
    while keeper.out.wait_for(&["\"liquidating\"", &a_account], Duration::from_secs(4)).is_none() {
        assert!(Instant::now() < deadline, "no liquidation by {price}:\n{}", keeper.out.dump());
        price -= 150_000_000;
        pusher.set(price);
        pusher.written(Duration::from_secs(30));
    }
    assert!(
        keeper.out.wait_for(&["\"pass\"", "\"liquidated\":1"], Duration::from_secs(30)).is_some(),
        "{}",
        keeper.out.dump()
    );
    // a funding payment settles into Alice's account along with it; then everything stops but the node
    drop(pusher);
    assert!(keeper.stop().expect("keeper stopped").success());

    // started again: it resumes after the newest transaction it stored
    let mut idx = indexer(&rpc, &pg.1, &listen);
    let chain = RpcChain::new(&rpc, CommitmentConfig::finalized(), Retry::default());
    let r = rt();
    let program_sigs = || -> Vec<(String, bool)> {
        use solana_rpc_client_api::request::RpcRequest;
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let mut cfg = json!({ "commitment": "finalized", "limit": 1000 });
            if let Some(b) = &before {
                cfg["before"] = json!(b);
            }
            let page: Value = r
                .block_on(chain.client().send(RpcRequest::GetSignaturesForAddress, json!([perp::ID.to_string(), cfg])))
                .unwrap();
            let page = page.as_array().unwrap().clone();
            for s in &page {
                out.push((s["signature"].as_str().unwrap().to_string(), s["err"].is_null()));
            }
            if page.len() < 1000 {
                return out;
            }
            before = out.last().map(|s| s.0.clone());
        }
    };
    // wait until the node has finalized everything sent, and the indexer caught up with it
    let (status, caught_up) = until(120, "the indexer catching up after its restart", || {
        let sigs = program_sigs();
        let st = api_get(&api, "/v1/status");
        (st["newest_signature"].as_str() == sigs.first().map(|s| s.0.as_str())).then_some((st, sigs))
    });
    let (status, sigs) = status;
    let landed = sigs.iter().filter(|s| s.1).count() as i64;
    // every landed transaction of the program exactly once (the transactions table's key is the
    // signature: a duplicate could not be counted twice; a skipped one would be missing)
    assert_eq!(status["transactions"].as_i64(), Some(landed), "{status}");
    assert_eq!(status["gaps"], json!([]), "{status}");
    assert_eq!(status["undecoded_events"], json!(0), "{status}");

    // what a trader reads: fills, funding paid, the liquidation; the market's trades and candles
    let hist =
        |args: &[&str]| cli(&rpc, Some(&a_path), &[&["history"][..], args, &["--api", api.as_str()][..]].concat());
    let fills = hist(&["fills"]);
    let fl = fills["fills"].as_array().unwrap();
    assert!(fl.iter().any(|f| f["base"] == json!("0.9") && f["signature"] == json!(sig)), "{fills}");
    let liq = hist(&["liquidations"]);
    assert!(!liq["liquidations"].as_array().unwrap().is_empty(), "{liq}");
    assert_eq!(liq["liquidations"][0]["kind"], json!("takeover"), "{liq}");
    let funding = hist(&["funding"]);
    assert!(!funding["funding"].as_array().unwrap().is_empty(), "no funding payment of Alice: {funding}");
    let trades = cli(&rpc, None, &["history", "trades", "--market", "0", "--api", &api]);
    assert!(trades["trades"].as_array().unwrap().len() >= 2, "{trades}");
    let candles = cli(&rpc, None, &["history", "candles", "--market", "0", "--resolution", "1m", "--api", &api]);
    assert!(!candles["candles"].as_array().unwrap().is_empty(), "{candles}");
    let st = cli(&rpc, None, &["history", "status", "--api", &api]);
    assert_eq!(st["gaps"], json!([]), "{st}");
    eprintln!(
        "[e2e] indexer: a fill served {:.1} s after its transaction was confirmed (finalized commitment); \
         caught up {:.1} s after the restart; {} transactions, {} events; total {:.1} s",
        fill_latency.as_secs_f64(),
        caught_up.as_secs_f64(),
        landed,
        status["events"],
        t_start.elapsed().as_secs_f64()
    );
    assert!(fill_latency < Duration::from_secs(60), "fill served after {fill_latency:?}");
    assert!(idx.stop().expect("indexer stopped").success());
    assert!(localnet.stop().expect("localnet stopped").success());
}
