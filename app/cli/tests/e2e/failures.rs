//! Failure paths a keeper operator sees, each against a real local node: the keeper logs the
//! decoded reason, backs off and recovers.

use crate::cluster::*;
use perp_client::rpc::{Retry, RpcChain};
use solana_commitment_config::CommitmentConfig;
use solana_signer::Signer;
use std::time::Duration;

fn keeper_proc(rpc: &str, key: &std::path::Path, extra: &[&str]) -> Proc {
    let mut c = perp();
    c.args(["--rpc", rpc, "--keypair"]).arg(key).args(["keeper", "--interval", "1", "--log-json"]).args(extra);
    Proc::spawn(c, "keeper", libc::SIGINT)
}

fn must(p: &Proc, needles: &[&str], secs: u64) -> String {
    match p.out.wait_for(needles, Duration::from_secs(secs)) {
        Some((_, l)) => l,
        None => panic!("no log line with {needles:?} in {secs} s:\n{}\n{}", p.out.dump(), p.err.dump()),
    }
}

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_keeper_started_while_the_node_is_down_waits_for_it() {
    let _g = serial();
    let dir = crate::tempdir();
    let ports = Ports { base: 22_000 };
    let (k_path, k) = keypair(&dir, "keeper");
    let keeper = keeper_proc(&ports.rpc_url(), &k_path, &["--ws", "auto"]);
    let l = must(&keeper, &["cannot start yet", "\"Transport\""], 60);
    assert!(l.contains("retry_in_ms"), "{l}");
    // the node comes up; the operator funds the keeper; it starts by itself
    let (_localnet, ready) = start_localnet(ports, &dir.join("ledger"), true, true);
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    cli(&rpc, None, &["localnet", "faucet", "--to", &k.pubkey().to_string(), "--usdc", "0"]);
    must(&keeper, &["keeper running"], 120);
    must(&keeper, &["cache live"], 60);
    let backoffs = keeper.out.count("cannot start yet");
    assert!(backoffs >= 2, "backed off {backoffs} times");
}

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_keeper_survives_a_node_restart() {
    let _g = serial();
    let dir = crate::tempdir();
    let ports = Ports { base: 23_000 };
    let ledger = dir.join("ledger");
    let (mut localnet, ready) = start_localnet(ports, &ledger, true, true);
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    let (k_path, k) = keypair(&dir, "keeper");
    cli(&rpc, None, &["localnet", "faucet", "--to", &k.pubkey().to_string(), "--usdc", "0"]);
    let keeper = keeper_proc(&rpc, &k_path, &["--ws", "auto"]);
    must(&keeper, &["keeper running"], 60);
    must(&keeper, &["cache live"], 60);
    let slot_before = rt_slot(&rpc);
    assert!(localnet.stop().expect("stopped").success());
    must(&keeper, &["pass failed; backing off", "\"Transport\""], 60);
    must(&keeper, &["cache not live"], 60);
    // the same ledger: the chain goes on from where it stopped, the keeper picks it up again
    let (_localnet, again) = start_localnet(ports, &ledger, false, true);
    assert_eq!(again["new_chain"], serde_json::json!(false), "{again}");
    assert!(rt_slot(&rpc) >= slot_before, "the chain did not go on");
    must(&keeper, &["\"recovered\""], 120);
    assert!(keeper.out.wait_count("cache live", 2, Duration::from_secs(60)), "{}", keeper.out.dump());
    // and its account is still there: the restart kept the state
    let acct = cli(&rpc, None, &["account", "show", "--owner", &k.pubkey().to_string()]);
    assert!(acct["account"].is_string(), "{acct}");
}

fn rt_slot(rpc: &str) -> u64 {
    let c = RpcChain::new(rpc, CommitmentConfig::confirmed(), Retry::default());
    crate::rt().block_on(c.client().get_slot()).unwrap()
}

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_keeper_raises_a_compute_unit_limit_that_is_too_low() {
    let _g = serial();
    let dir = crate::tempdir();
    let ports = Ports { base: 24_000 };
    let (_localnet, ready) = start_localnet(ports, &dir.join("ledger"), true, true);
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    let (k_path, k) = keypair(&dir, "keeper");
    cli(&rpc, None, &["localnet", "faucet", "--to", &k.pubkey().to_string(), "--usdc", "0"]);
    // 2,000 units cannot create the keeper's margin account
    let mut c = perp();
    c.args(["--rpc", &rpc, "--cu-limit", "2000", "--keypair"]).arg(&k_path).args([
        "keeper",
        "--interval",
        "1",
        "--log-json",
    ]);
    let keeper = Proc::spawn(c, "keeper", libc::SIGINT);
    let l = must(&keeper, &["raised the compute-unit limit", "ComputationalBudgetExceeded"], 60);
    assert!(l.contains("\"from\":2000") && l.contains("\"to\":200000"), "{l}");
    must(&keeper, &["keeper running"], 60);
    let acct = cli(&rpc, None, &["account", "show", "--owner", &k.pubkey().to_string()]);
    assert!(acct["account"].is_string(), "the keeper's account was created after the raise: {acct}");
}

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_keeper_without_sol_backs_off_until_funded() {
    let _g = serial();
    let dir = crate::tempdir();
    let ports = Ports { base: 25_000 };
    let (_localnet, ready) = start_localnet(ports, &dir.join("ledger"), true, true);
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    let (k_path, k) = keypair(&dir, "keeper");
    let keeper = keeper_proc(&rpc, &k_path, &[]);
    // a fee payer that never received SOL does not exist on chain: the node says AccountNotFound
    let l = must(&keeper, &["cannot start yet", "\"AccountNotFound\""], 60);
    assert!(l.contains("fund the keeper's fee payer"), "{l}");
    std::thread::sleep(Duration::from_secs(3));
    cli(&rpc, None, &["localnet", "faucet", "--to", &k.pubkey().to_string(), "--usdc", "0", "--sol", "1"]);
    must(&keeper, &["keeper running"], 90);
    assert!(keeper.out.count("cannot start yet") >= 2);
}

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_a_blockhash_the_node_does_not_know_is_signed_again() {
    let _g = serial();
    let dir = crate::tempdir();
    let ports = Ports { base: 26_000 };
    let (_localnet, ready) = start_localnet(ports, &dir.join("ledger"), true, false);
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    let (_, payer) = keypair(&dir, "payer");
    cli(&rpc, None, &["localnet", "faucet", "--to", &payer.pubkey().to_string(), "--usdc", "0", "--sol", "2"]);
    let c = RpcChain::new(&rpc, CommitmentConfig::confirmed(), Retry::default());
    let to = solana_keypair::Keypair::new().pubkey();
    let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, 1_000_000_000);
    // what an expired blockhash is to the node: one it does not know
    let stale = solana_hash::Hash::new_from_array([7; 32]);
    let r = crate::rt();
    let (sig, resigned) = r
        .block_on(c.send_with_blockhash(&[ix], &[&payer], &Default::default(), stale))
        .expect("sent after signing again");
    assert_eq!(resigned, 1);
    assert!(!sig.is_empty());
    assert_eq!(r.block_on(c.client().get_balance(&to)).unwrap(), 1_000_000_000, "the transfer landed once");
}
