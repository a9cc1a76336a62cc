//! A SOL-backed trader against `perp localnet`: SOL deposited from the CLI backs a BTC long with
//! no USDC at all; the SOL feed falls while BTC holds, and the `perp keeper` process sells the SOL
//! (`liquidate_collateral`) and then takes the position over; read back over JSON-RPC, with
//! conservation per mint.

use super::*;

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_sol_backed_trader_liquidated_after_the_sol_feed_falls() {
    let _g = serial();
    let t_start = Instant::now();
    let dir = tempdir();
    let ports = Ports { base: 30_000 };
    let (admin_path, admin) = keypair(&dir, "admin");
    let (mut localnet, ready) = start_localnet_as(ports, &dir.join("ledger"), true, false, Some(&admin_path));
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    cli(&rpc, None, &["localnet", "faucet", "--to", &admin.pubkey().to_string(), "--usdc", "100000"]);
    let config = repo().join("migrations/localnet.json");
    let init = cli(&rpc, Some(&admin_path), &["admin", "init", "--config", config.to_str().unwrap()]);
    assert!(init.to_string().contains("\"collateral\":1") && init.to_string().contains("\"collateral\":2"), "{init}");
    let listed = cli(&rpc, None, &["collateral", "list"]);
    assert_eq!(listed["collateral"], json!(2), "{listed}");
    assert_eq!(listed["listed"][0]["name"], json!("SOL"), "{listed}");
    assert_eq!(listed["listed"][1]["decimals"], json!(8), "{listed}");

    let p0 = first_price(&ready);
    let btc = Pusher::start(rpc.clone(), p0, Duration::from_millis(1000));
    btc.written(Duration::from_secs(30));
    let sol = Pusher::start_on(rpc.clone(), &["--collateral", "SOL"], 150_000_000, Duration::from_millis(1000));
    sol.written(Duration::from_secs(30));

    let (s_path, s) = keypair(&dir, "sam");
    let (k_path, _k) = keypair(&dir, "keeper");
    cli(&rpc, Some(&s_path), &["localnet", "faucet", "--usdc", "0", "--collateral", "SOL=10"]);
    cli(&rpc, Some(&s_path), &["account", "create"]);
    cli(&rpc, Some(&k_path), &["localnet", "faucet", "--usdc", "5000"]);
    cli(&rpc, Some(&k_path), &["account", "create"]);
    cli(&rpc, Some(&k_path), &["account", "deposit", "--amount", "3000"]);
    // SOL in, no USDC: 10 SOL at 150 count 1,200 for initial margin
    let dep = cli(&rpc, Some(&s_path), &["account", "deposit", "--mint", "SOL", "--amount", "10"]);
    assert_eq!(dep["balance"], json!("10"), "{dep}");
    // a bad mint answers with what is listed
    let (code, _, err) = cli_raw(&rpc, Some(&s_path), &["account", "deposit", "--mint", "DOGE", "--amount", "1"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a listed collateral") && err.contains("SOL"), "{err}");
    // a 0.5 BTC long (about 10,180 notional, 2% initial) on SOL alone
    let buy = cli(&rpc, Some(&s_path), &["trade", "buy", "--market", "BTC-PERP", "--size", "0.5"]);
    assert_eq!(buy["accepted"], json!(true), "{buy}");
    let show = cli(&rpc, None, &["account", "show", "--owner", &s.pubkey().to_string()]);
    assert_eq!(show["collateral"][0]["collateral"], json!("SOL"), "{show}");
    assert!(show["cross_collateral"].as_str().unwrap().starts_with('-'), "the fee is owed in USDC: {show}");
    // the liquidation price the account shows counts the SOL (it does not move with BTC)
    assert!(!show["positions"][0]["liquidation_price"].is_null(), "{show}");

    let mut keeper_cmd = perp();
    keeper_cmd.args(["--rpc", &rpc, "--keypair"]).arg(&k_path).args(["keeper", "--interval", "2", "--log-json"]);
    let mut keeper = Proc::spawn(keeper_cmd, "keeper", libc::SIGINT);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(keeper.out.count("\"liquidating collateral\""), 0, "{}", keeper.out.dump());

    // SOL falls to 5 and stays there, BTC holds: once the time-weighted SOL price has followed
    // (the localnet's window is 10 s), the account is below maintenance on its collateral alone
    sol.set(5_000_000);
    let written = sol.written(Duration::from_secs(30));
    let sold = keeper.out.wait_for(&["\"liquidating collateral\""], Duration::from_secs(180));
    if sold.is_none() {
        let listed = cli(&rpc, None, &["collateral", "list"]);
        let show = cli(&rpc, None, &["account", "show", "--owner", &s.pubkey().to_string()]);
        panic!("the keeper never sold the SOL:\n{listed}\n{show}\n{}\n{}", keeper.out.dump(), keeper.err.dump());
    }
    eprintln!(
        "[e2e] SOL sold {} s after the fall was written (the keeper refreshes it every 15 s; its time-weighted price follows within one window)",
        sold.unwrap().0.saturating_duration_since(written).as_secs()
    );
    // then the position, still under maintenance, is taken over
    let taken = keeper.out.wait_for(&["\"liquidating\"", "\"market\":0"], Duration::from_secs(120));
    assert!(taken.is_some(), "no takeover after the sale:\n{}", keeper.out.dump());
    std::thread::sleep(Duration::from_secs(4));
    drop(btc);
    drop(sol);
    assert!(keeper.stop().expect("keeper stopped").success());

    let show = cli(&rpc, None, &["account", "show", "--owner", &s.pubkey().to_string()]);
    let left = show["collateral"].as_array().and_then(|c| c.first()).and_then(|c| c["amount"].as_str());
    assert!(left.is_none_or(|l| l.parse::<f64>().unwrap() < 10.0), "SOL was sold: {show}");
    let chain = RpcChain::new(&rpc, CommitmentConfig::confirmed(), Retry::default());
    // what the keeper bought is in its own SOL token account, not in its margin account
    let (dest, _) = perp_client::collateral::seeded_token_account(&_k.pubkey(), 1);
    let bought = rt().block_on(perp_client::chain::token_balance(&chain, &dest)).unwrap();
    assert!(bought > 0, "the keeper's SOL account holds what it bought");
    let ks = cli(&rpc, None, &["account", "show", "--owner", &_k.pubkey().to_string()]);
    assert_eq!(ks["collateral"], json!([]), "{ks}");
    let cons = rt().block_on(perp_client::chain::conservation(&chain)).unwrap();
    assert!(cons.holds(), "conservation over RPC: {cons:?}");
    assert_eq!(cons.mints.len(), 2, "{cons:?}");
    assert!(cons.mints[0].vault > 0, "{cons:?}");
    assert!(localnet.stop().expect("localnet stopped").success());
    eprintln!("[e2e] collateral total {:.1} s", t_start.elapsed().as_secs_f64());
}
