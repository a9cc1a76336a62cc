//! End to end over JSON-RPC: a local validator (`perp localnet start`, agave's
//! TestValidatorGenesis with the SBF programs) and the `perp` processes a trader and a keeper
//! operator run. Needs the SBF build (`scripts/build-sbf`) and perp-validator (built here when
//! missing; `scripts/localnet --build`): run by the README's SBF test command
//! (`PERP_SBF=1 cargo test --workspace --locked -- --include-ignored`). Local addresses only.

mod cache;
mod cluster;
mod collateral;
mod failures;
mod guard;
mod indexer;
mod orders;
mod web;

use anchor_lang::{AnchorDeserialize, Discriminator};
use cluster::*;
use perp::events::LiquidationExecuted;
use perp_client::rpc::{Retry, RpcChain};
use perp_client::Pubkey;
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_signer::Signer;
use std::time::{Duration, Instant};

const NEEDS: &str = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)";

/// The LiquidationExecuted events of `account`'s transactions, read over JSON-RPC.
async fn liquidation_events(c: &RpcChain, account: &Pubkey) -> Vec<LiquidationExecuted> {
    use base64::Engine;
    use solana_rpc_client_api::request::RpcRequest;
    let sigs: Value = c
        .client()
        .send(RpcRequest::GetSignaturesForAddress, json!([account.to_string(), { "commitment": "confirmed" }]))
        .await
        .unwrap();
    let mut out = Vec::new();
    for s in sigs.as_array().unwrap() {
        let tx: Value = c
            .client()
            .send(
                RpcRequest::GetTransaction,
                json!([s["signature"], { "encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0 }]),
            )
            .await
            .unwrap();
        for l in tx["meta"]["logMessages"].as_array().cloned().unwrap_or_default() {
            let Some(b64) = l.as_str().and_then(|l| l.strip_prefix("Program data: ")) else { continue };
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
            if bytes.starts_with(LiquidationExecuted::DISCRIMINATOR) {
                out.push(LiquidationExecuted::deserialize(&mut &bytes[8..]).unwrap());
            }
        }
    }
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The first price the local oracles get (the replay's first close, BTC on 2023-03-10).
fn first_price(ready: &Value) -> u64 {
    let _ = ready;
    20_360_610_000
}

/// Admin init from migrations/, two traders through the CLI, the price falls until one is
/// liquidatable, and the `perp keeper` process (websocket cache, through a proxy that drops the
/// connection once) liquidates it; balances, the event and conservation are read over JSON-RPC.
#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_trade_and_keeper_liquidation_over_rpc() {
    let _g = serial();
    let _ = NEEDS;
    let t_start = Instant::now();
    let dir = tempdir();
    let ports = Ports { base: 21_000 };
    // the admin deploys: it is the programs' upgrade authority, as initialize_exchange requires
    let (admin_path, admin) = keypair(&dir, "admin");
    let (mut localnet, ready) = start_localnet_as(ports, &dir.join("ledger"), true, false, Some(&admin_path));
    assert_eq!(ready["upgrade_authority"].as_str().unwrap(), admin.pubkey().to_string());
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    assert_eq!(rpc, ports.rpc_url());
    assert_eq!(ready["websocket"].as_str().unwrap(), ports.ws_url());
    let t_ready = t_start.elapsed();

    // the exchange from migrations/, by the admin funded from the faucet (SOL, and the 100,000 USDC
    // that seed BTC-PERP's insurance fund)
    cli(&rpc, None, &["localnet", "faucet", "--to", &admin.pubkey().to_string(), "--usdc", "100000"]);
    let config = repo().join("migrations/localnet.json");
    let init = cli(&rpc, Some(&admin_path), &["admin", "init", "--config", config.to_str().unwrap()]);
    assert_eq!(init["created"], json!(4), "{init}"); // the exchange, BTC-PERP and the collateral SOL and wBTC
    let seeded = cli(&rpc, None, &["market", "show", "--market", "0"]);
    assert_eq!(seeded["insurance_fund"], json!("100000"), "{seeded}");
    assert_eq!(seeded["open_interest_cap"], json!("10000000"), "{seeded}");
    let pusher = Pusher::start(rpc.clone(), first_price(&ready), Duration::from_millis(1500));
    pusher.written(Duration::from_secs(30));
    let markets = cli(&rpc, None, &["market", "list"]);
    assert_eq!(markets["markets"][0]["name"], json!("BTC-PERP"), "{markets}");

    // two traders and the keeper, with SOL and USDC from the faucet
    let (a_path, a) = keypair(&dir, "alice");
    let (b_path, b) = keypair(&dir, "bob");
    let (k_path, k) = keypair(&dir, "keeper");
    for (p, deposit) in [(&a_path, "1000"), (&b_path, "5000"), (&k_path, "5000")] {
        let f = cli(&rpc, Some(p), &["localnet", "faucet", "--usdc", "10000"]);
        assert_eq!(f["usdc_balance"], json!("10000"), "{f}");
        cli(&rpc, Some(p), &["account", "create"]);
        let d = cli(&rpc, Some(p), &["account", "deposit", "--amount", deposit]);
        assert!(d["signature"].is_string(), "{d}");
    }
    let show = cli(&rpc, Some(&a_path), &["account", "show"]);
    assert_eq!(num(&show["equity"]), 1000.0, "{show}");

    // Alice 0.9 BTC long on 1,000 USDC (~18x); Bob 0.5 BTC short on 5,000
    let buy = cli(&rpc, Some(&a_path), &["trade", "buy", "--market", "BTC-PERP", "--size", "0.9"]);
    assert!(buy["signature"].is_string(), "{buy}");
    let sell = cli(&rpc, Some(&b_path), &["trade", "sell", "--market", "0", "--size", "0.5"]);
    assert!(sell["signature"].is_string(), "{sell}");
    // a wallet's order from the TypeScript client (@solana/kit, app/ts/examples/trade.ts) on the same
    // node: Bob buys 0.01 back, signed in node, confirmed over the websocket, its event decoded
    let ts_out = ts_example_trade(&rpc, ready["websocket"].as_str().unwrap(), &b_path);
    assert!(ts_out.contains("filled 10000000 at "), "{ts_out}");
    let b_show = cli(&rpc, Some(&b_path), &["account", "show"]);
    assert_eq!(b_show["positions"][0]["size"], json!("-0.49"), "{b_show}");
    let a_show = cli(&rpc, Some(&a_path), &["account", "show"]);
    assert_eq!(a_show["positions"][0]["size"], json!("0.9"), "{a_show}");
    assert_eq!(a_show["liquidatable"], json!(false));
    let a_account: Pubkey = a_show["account"].as_str().unwrap().parse().unwrap();

    // the keeper process, its websocket through a proxy that the test cuts once
    let proxy = Proxy::start(ports.base + 1);
    let mut keeper_cmd = perp();
    keeper_cmd.args(["--rpc", &rpc, "--keypair"]).arg(&k_path).args([
        "keeper",
        "--interval",
        "2",
        "--log-json",
        "--ws",
        &format!("ws://127.0.0.1:{}", proxy.port),
    ]);
    let mut keeper = Proc::spawn(keeper_cmd, "keeper", libc::SIGINT);
    let live = keeper.out.wait_for(&["cache live"], Duration::from_secs(60));
    assert!(live.is_some(), "keeper cache never live:\n{}\n{}", keeper.out.dump(), keeper.err.dump());
    assert!(proxy.cut() >= 1, "the keeper had no websocket connection");
    assert!(
        keeper.out.wait_count("cache live", 2, Duration::from_secs(60)),
        "no resubscription after the dropped connection:\n{}",
        keeper.out.dump()
    );
    assert!(keeper.out.count("cache not live") >= 1, "the drop was not noticed:\n{}", keeper.out.dump());

    // the price falls in steps until the keeper liquidates Alice
    let mut price = first_price(&ready);
    let mut step_written = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(180);
    let liquidated = loop {
        if let Some(l) = keeper.out.wait_for(&["\"liquidating\"", &a_account.to_string()], Duration::from_secs(4)) {
            break l;
        }
        assert!(Instant::now() < deadline, "no liquidation by {price}:\n{}", keeper.out.dump());
        price -= 150_000_000;
        pusher.set(price);
        step_written = pusher.written(Duration::from_secs(30));
    };
    let pass = keeper.out.wait_for(&["\"pass\"", "\"liquidated\":1"], Duration::from_secs(30));
    let pass = pass.unwrap_or_else(|| panic!("no pass line:\n{}", keeper.out.dump()));
    let latency = pass.0.saturating_duration_since(step_written);
    let pass_v: Value = serde_json::from_str(&pass.1).unwrap();
    eprintln!(
        "[e2e] liquidation at oracle price {}: {} ms from the oracle write landing to the keeper's liquidation landing \
         (keeper: {} ms from the websocket notification); cluster ready in {:.1} s",
        price as f64 / 1e6,
        latency.as_millis(),
        pass_v["fields"]["since_update_ms"],
        t_ready.as_secs_f64()
    );

    // stop the keeper (SIGINT) and the price writes, then read back over JSON-RPC
    drop(pusher);
    let ks = keeper.stop().expect("keeper stopped");
    assert!(ks.success(), "keeper exit {ks:?}");
    assert_eq!(keeper.out.count("\"stopping\""), 1);
    let a_after = cli(&rpc, None, &["account", "show", "--owner", &a.pubkey().to_string()]);
    let left: f64 = a_after["positions"].as_array().unwrap().iter().map(|p| num(&p["size"])).sum();
    assert!(left < 0.9, "Alice's position was not reduced: {a_after}");
    let chain = RpcChain::new(&rpc, CommitmentConfig::confirmed(), Retry::default());
    let r = rt();
    // the events in the transactions' logs: each a takeover by the keeper's account, together
    // exactly what left Alice's position
    // a node indexes confirmed transactions by address a little after confirming them: ask again
    let expected = 900_000_000 - (left * 1e9).round() as i64;
    let mut events = Vec::new();
    for _ in 0..60 {
        events = r.block_on(liquidation_events(&chain, &a_account));
        if events.iter().map(|e| e.closed_base).sum::<i64>() == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(!events.is_empty(), "no LiquidationExecuted for Alice");
    let keeper_account = perp_client::pda::margin_account(&k.pubkey(), 0);
    for e in &events {
        assert_eq!((e.margin_account, e.liquidator, e.market_index), (a_account, keeper_account, 0));
        assert!(e.closed_base > 0 && e.liquidator_reward > 0, "{} {}", e.closed_base, e.liquidator_reward);
    }
    let closed: i64 = events.iter().map(|e| e.closed_base).sum();
    assert_eq!(closed, expected, "events and account disagree");
    let cons = r.block_on(perp_client::chain::conservation(&chain)).unwrap();
    assert!(cons.holds(), "conservation over RPC: {cons:?}");
    // every deposited micro-USDC is in one of the two vaults (fees swept to insurance included):
    // the traders' 11,000 and the insurance seed's 100,000
    assert_eq!(cons.collateral_vault + cons.insurance_vault, 111_000_000_000, "{cons:?}");
    // wallets: what each deposited left its token account
    let mint: Pubkey = ready["mint"].as_str().unwrap().parse().unwrap();
    let wallet = |o: &solana_keypair::Keypair| {
        let ata = perp_cli::trader::associated_token_account(&o.pubkey(), &mint);
        r.block_on(perp_client::chain::token_balance(&chain, &ata)).unwrap()
    };
    assert_eq!((wallet(&a), wallet(&b), wallet(&k)), (9_000_000_000, 5_000_000_000, 5_000_000_000));

    // the cluster stops on SIGTERM, cleanly, and its port closes
    let ls = localnet.stop().expect("localnet stopped");
    assert!(ls.success(), "localnet exit {ls:?}\n{}", localnet.err.dump());
    assert!(std::net::TcpStream::connect(("127.0.0.1", ports.base)).is_err(), "the validator still answers");
    let _ = liquidated;
    eprintln!("[e2e] total {:.1} s", t_start.elapsed().as_secs_f64());
}

/// Runs the TypeScript client's example order (`node dist/examples/trade.js`) against the node,
/// installing and building `app/ts` first (`npm ci` when node_modules is missing or older than the
/// lock file, then `npm run build`); its stdout.
fn ts_example_trade(rpc: &str, ws: &str, keypair: &std::path::Path) -> String {
    use std::process::Command;
    let ts = repo().join("app/ts");
    let npm = |args: &[&str]| {
        let st = Command::new("npm").args(args).current_dir(&ts).status().expect("npm (node 20 and npm are needed)");
        assert!(st.success(), "npm {args:?} failed");
    };
    let mtime = |p: std::path::PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = mtime(ts.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < mtime(ts.join("package-lock.json")) {
        npm(&["ci", "--no-audit", "--no-fund"]);
    }
    npm(&["run", "build", "--silent"]);
    let out = Command::new("node")
        .arg("dist/examples/trade.js")
        .current_dir(&ts)
        .env("RPC_URL", rpc)
        .env("WS_URL", ws)
        .env("KEYPAIR", keypair)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "the TypeScript order failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

pub fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("perp-e2e-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    use std::time::SystemTime;
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 % 1_000_000_007
}
