//! A trader's stop-loss and take-profit from the CLI against `perp localnet`: the `perp keeper`
//! process fills the stop when the price feed moves, the take-profit goes with the position; read
//! back over JSON-RPC.

use super::*;

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_stop_loss_and_take_profit_filled_by_the_keeper() {
    let _g = serial();
    let t_start = Instant::now();
    let dir = tempdir();
    let ports = Ports { base: 29_000 };
    let (admin_path, admin) = keypair(&dir, "admin");
    let (mut localnet, ready) = start_localnet_as(ports, &dir.join("ledger"), true, false, Some(&admin_path));
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    cli(&rpc, None, &["localnet", "faucet", "--to", &admin.pubkey().to_string(), "--usdc", "100000"]);
    let config = repo().join("migrations/localnet.json");
    cli(&rpc, Some(&admin_path), &["admin", "init", "--config", config.to_str().unwrap()]);
    let p0 = first_price(&ready);
    let pusher = Pusher::start(rpc.clone(), p0, Duration::from_millis(1000));
    pusher.written(Duration::from_secs(30));

    let (a_path, a) = keypair(&dir, "alice");
    let (k_path, k) = keypair(&dir, "keeper");
    for (p, deposit) in [(&a_path, "2000"), (&k_path, "1000")] {
        cli(&rpc, Some(p), &["localnet", "faucet", "--usdc", "5000"]);
        cli(&rpc, Some(p), &["account", "create"]);
        cli(&rpc, Some(p), &["account", "deposit", "--amount", deposit]);
    }
    // a long of 0.1 BTC with its stop-loss attached in the same transaction, 1% under the price
    let stop = format!("{:.2}", p0 as f64 / 1e6 * 0.99);
    let buy =
        cli(&rpc, Some(&a_path), &["trade", "buy", "--market", "BTC-PERP", "--size", "0.1", "--stop-loss", &stop]);
    assert_eq!(buy["attached_orders"], json!(1), "{buy}");
    // and a take-profit placed on its own, 5% over
    let tp = format!("{:.2}", p0 as f64 / 1e6 * 1.05);
    let placed = cli(
        &rpc,
        Some(&a_path),
        &[
            "order",
            "place",
            "--market",
            "0",
            "--kind",
            "take-profit",
            "--side",
            "sell",
            "--size",
            "0.1",
            "--trigger",
            &tp,
        ],
    );
    assert_eq!(placed["order_id"], json!("2"), "{placed}");
    assert_eq!(placed["reward_reserved"], json!("0.02"), "{placed}");
    let list = cli(&rpc, Some(&a_path), &["order", "list"]);
    assert_eq!(list["orders_open"], json!(2), "{list}");
    assert_eq!(list["reserved"], json!("0.04"), "{list}");
    assert_eq!(list["orders"][0]["kind"], json!("stop-market"), "{list}");
    assert_eq!(list["orders"][0]["status"], json!("waiting for its trigger"), "{list}");
    assert_eq!(list["orders"][1]["reduce_only"], json!(true), "{list}");

    let mut keeper = start_keeper(&rpc, &k_path, "auto");
    // nothing fires while the price holds
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(keeper.out.count("\"filling order\""), 0, "{}", keeper.out.dump());

    // the feed falls 1.5%: the stop fires on the index and the keeper fills it
    pusher.set(p0 - p0 * 15 / 1000);
    let written = pusher.written(Duration::from_secs(30));
    let filled = keeper.out.wait_for(&["\"filling order\"", "\"order\":1"], Duration::from_secs(60));
    assert!(filled.is_some(), "the keeper never filled the stop:\n{}\n{}", keeper.out.dump(), keeper.err.dump());
    let pass = keeper.out.wait_for(&["\"pass\"", "\"orders_filled\":1"], Duration::from_secs(30));
    let pass = pass.unwrap_or_else(|| panic!("no pass line:\n{}", keeper.out.dump()));
    eprintln!(
        "[e2e] stop filled {} ms after the price write landed",
        pass.0.saturating_duration_since(written).as_millis()
    );
    drop(pusher);
    assert!(keeper.stop().expect("keeper stopped").success());

    // over JSON-RPC: the position is closed, and with it the take-profit (cancelled in the stop's
    // fill, its reward back to Alice); the keeper was paid the stop's reward
    let show = cli(&rpc, None, &["account", "show", "--owner", &a.pubkey().to_string()]);
    assert_eq!(show["positions"], json!([]), "{show}");
    assert_eq!(show["order_reserve"], json!("0"), "{show}");
    let list = cli(&rpc, None, &["order", "list", "--owner", &a.pubkey().to_string()]);
    assert_eq!(list["orders_open"], json!(0), "{list}");
    let ks = cli(&rpc, None, &["account", "show", "--owner", &k.pubkey().to_string()]);
    assert_eq!(ks["cross_collateral"], json!("1000.02"), "{ks}");
    let cancel = cli(&rpc, Some(&a_path), &["order", "cancel", "--all"]);
    assert_eq!(cancel["cancelled"], json!(0), "{cancel}");
    let chain = RpcChain::new(&rpc, CommitmentConfig::confirmed(), Retry::default());
    let cons = rt().block_on(perp_client::chain::conservation(&chain)).unwrap();
    assert!(cons.holds(), "conservation over RPC: {cons:?}");
    assert!(localnet.stop().expect("localnet stopped").success());
    eprintln!("[e2e] orders total {:.1} s", t_start.elapsed().as_secs_f64());
}
