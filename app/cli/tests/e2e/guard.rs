//! `perp admin init` keeps localnet material (the test oracle, the published mint and authority)
//! off any chain that is not a local perp cluster, asked over JSON-RPC of a real node: here a
//! validator with perp.so but without the test oracle, which is what any other chain looks like.

use crate::cluster::*;
use perp_client::chain::Chain;
use perp_client::rpc::{Retry, RpcChain};
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_signer::Signer;
use std::time::Duration;

/// perp-validator with perp.so only (no test oracle), `admin` as its upgrade authority.
fn validator_without_test_oracle(
    ports: Ports,
    ledger: &std::path::Path,
    admin: &perp_client::Pubkey,
) -> (Proc, String) {
    let mut cmd = std::process::Command::new(validator_bin());
    cmd.arg("--ledger")
        .arg(ledger)
        .arg("--reset")
        .args(["--rpc-port", &ports.base.to_string(), "--faucet-port", &(ports.base + 2).to_string()])
        .args(["--port-range", &format!("{}-{}", ports.base + 10, ports.base + 60)])
        .args(["--upgrade-authority", &admin.to_string()])
        .arg("--bpf-program")
        .arg(format!("{}={}", perp::ID, programs_dir().join("perp.so").display()));
    let p = Proc::spawn(cmd, "validator", libc::SIGTERM);
    let Some((_, line)) = p.out.wait_for(&["\"rpc\""], Duration::from_secs(240)) else {
        panic!("perp-validator did not get ready:\n{}\n{}", p.out.dump(), p.err.dump());
    };
    let v: Value = serde_json::from_str(&line).unwrap();
    (p, v["rpc"].as_str().unwrap().to_string())
}

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn attack_localnet_material_is_refused_off_a_local_perp_cluster() {
    let _g = serial();
    let dir = crate::tempdir();
    let ports = Ports { base: 28_000 };
    let (admin_path, admin) = keypair(&dir, "admin");
    let (mut node, rpc) = validator_without_test_oracle(ports, &dir.join("ledger"), &admin.pubkey());
    let c = RpcChain::new(&rpc, CommitmentConfig::confirmed(), Retry::default());
    let rt = crate::rt();
    rt.block_on(async {
        perp_cli::localnet::setup::wait_for_node(&c, Duration::from_secs(120)).await.expect("node");
        c.airdrop(&admin.pubkey(), 10_000_000_000).await.expect("airdrop");
        // what the CLI asks the node: a genesis of its own, and no test oracle
        let cluster = perp_cli::localnet::guard::cluster(&c).await.unwrap();
        assert!(!cluster.test_oracle_deployed, "{cluster:?}");
        assert!(!perp_cli::localnet::guard::PUBLIC_GENESIS.contains(&cluster.genesis.as_str()));
    });
    let sol_before = rt.block_on(c.account(&admin.pubkey())).unwrap().unwrap().lamports;

    let init = |keypair: &std::path::Path, config: &std::path::Path| {
        cli_raw(&rpc, Some(keypair), &["admin", "init", "--config", config.to_str().unwrap()])
    };
    let refused = |(code, out, err): (i32, Value, String), needle: &str| {
        assert_eq!(code, 2, "not refused as bad input: {out}\n{err}");
        assert!(err.contains("not a local perp cluster") && err.contains(needle), "{err}");
    };

    // 1. the localnet config as it is (the test oracle as oracle owner, the published mint)
    let localnet = repo().join("migrations/localnet.json");
    refused(init(&admin_path, &localnet), "pyth_legacy_program is the localnet test oracle");

    // 2. a careless copy with Pyth's programs put in: the published mint is still there, and on a
    // public chain anyone can create that mint first and print the exchange's collateral
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&localnet).unwrap()).unwrap();
    let mainnet: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("migrations/mainnet-btc.json")).unwrap()).unwrap();
    for k in ["pyth_legacy_program", "pyth_receiver_program"] {
        cfg[k] = mainnet[k].clone();
    }
    let copy = dir.join("copy.json");
    std::fs::write(&copy, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    refused(init(&admin_path, &copy), "collateral_mint is the published localnet mint");

    // 3. the mainnet config signed by the published localnet authority (anyone holds its key)
    let published = repo().join("migrations/localnet/authority.json");
    refused(
        init(&published, &repo().join("migrations/mainnet-btc.json")),
        "the admin signer is the published localnet authority",
    );

    // nothing was sent: no exchange, the admin paid no fee
    rt.block_on(async {
        assert!(c.account(&perp_client::pda::exchange()).await.unwrap().is_none(), "an exchange was created");
        assert_eq!(c.account(&admin.pubkey()).await.unwrap().unwrap().lamports, sol_before);
    });
    assert!(node.stop().is_some_and(|s| s.success()));
}
