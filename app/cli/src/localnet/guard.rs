//! Localnet material stays on a local chain. `perp admin init` refuses a deployment that uses any
//! of it, unless the cluster proves it is a local perp cluster:
//!
//! - the test oracle as an oracle owner (`pyth_legacy_program`, `pyth_receiver_program`): whoever
//!   holds the published authority writes any price there;
//! - the published USDC-like mint as collateral (`migrations/localnet/usdc-mint.json`): on a public
//!   chain anyone can create that mint first and be its mint authority, so the exchange's
//!   collateral would be a token they print;
//! - the published localnet authority as the admin signer: anyone holds its key;
//! - a published localnet collateral mint (`migrations/localnet/sol-mint.json`,
//!   `wbtc-mint.json`) as listed collateral: the same printing press, one listing away.
//!
//! The proof is an allow-list, not a list of known public chains: the test oracle's program
//! account must exist, owned by a BPF loader and executable. Its address
//! (`PerpTestFeed1111111111111111111111111111111`) has no known private key, so no transaction can
//! create it; only whoever controls a chain's genesis or validator can put it there (as `perp
//! localnet start` does), so on any other chain the deployment is refused. Solana's public
//! clusters (by genesis hash) are refused whatever they hold.

use crate::output::CliError;
use perp_client::rpc::RpcChain;
use perp_client::Pubkey;
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;

/// Genesis hashes of Solana's public clusters (mainnet-beta, devnet, testnet).
pub const PUBLIC_GENESIS: [&str; 3] = [
    "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d",
    "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG",
    "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY",
];

/// The published localnet authority (`migrations/localnet/authority.json`).
pub const PUBLISHED_AUTHORITY: Pubkey = anchor_lang::pubkey!("DAAWVrmPT52rQEY7bVVBB8hYMyrYKUyabCJSrmCzjcmr");
/// The published localnet mint (`migrations/localnet/usdc-mint.json`).
pub const PUBLISHED_MINT: Pubkey = anchor_lang::pubkey!("GkK6235cQwkD3CQcmFfjtTSQ7EKVAJuP9KxNmm6gpMEv");
/// The published localnet collateral mints (`sol-mint.json`, `wbtc-mint.json`).
pub const PUBLISHED_COLLATERAL_MINTS: [Pubkey; 2] = [
    anchor_lang::pubkey!("HrvURD3PciVWJycGRa8BwnHGrvKWjgCmrPcFsXCAgVYi"),
    anchor_lang::pubkey!("9SVwXLnk7N4utghYt2mxkbPwBGgFBxnW9f9rQwShXCzW"),
];

const LOADERS: [Pubkey; 3] = [
    anchor_lang::pubkey!("BPFLoaderUpgradeab1e11111111111111111111111"),
    anchor_lang::pubkey!("BPFLoader2111111111111111111111111111111111"),
    anchor_lang::pubkey!("BPFLoader1111111111111111111111111111111111"),
];

/// What a deployment by `admin` with `config` uses that only belongs on a local chain, by name.
pub fn localnet_material(config: &Value, admin: &Pubkey) -> Vec<String> {
    let mut found = Vec::new();
    let is = |k: &str, key: &Pubkey| config.get(k).and_then(Value::as_str) == Some(key.to_string().as_str());
    for k in ["pyth_legacy_program", "pyth_receiver_program"] {
        if is(k, &perp_test_oracle::ID) {
            found.push(format!("{k} is the localnet test oracle {}", perp_test_oracle::ID));
        }
    }
    if is("collateral_mint", &PUBLISHED_MINT) {
        found.push(format!("collateral_mint is the published localnet mint {PUBLISHED_MINT}"));
    }
    if *admin == PUBLISHED_AUTHORITY {
        found.push(format!("the admin signer is the published localnet authority {PUBLISHED_AUTHORITY}"));
    }
    for (i, e) in config.get("collateral").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let mint = e.get("mint").and_then(Value::as_str).unwrap_or_default();
        if PUBLISHED_COLLATERAL_MINTS.iter().any(|k| k.to_string() == mint) {
            found.push(format!("collateral {i} is the published localnet mint {mint}"));
        }
    }
    found
}

/// What `perp admin init` learns of the cluster before it sends anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub genesis: String,
    /// The test oracle's program account exists, is executable and is owned by a BPF loader.
    pub test_oracle_deployed: bool,
    /// The JSON-RPC URL's host is this machine. The two answers above come from that node, so
    /// they prove nothing when the node is somewhere else: a proxy can answer them with a local
    /// chain's and forward the transactions to mainnet (N-11).
    pub loopback: bool,
}

/// The refusal, if any, of a deployment using `material` on `cluster`.
pub fn refusal(material: &[String], cluster: &Cluster) -> Option<String> {
    if material.is_empty() {
        return None;
    }
    let what = material.join("; ");
    if PUBLIC_GENESIS.contains(&cluster.genesis.as_str()) {
        return Some(format!("localnet-only config refused on a public cluster (genesis {}): {what}", cluster.genesis));
    }
    if !cluster.loopback {
        return Some(format!(
            "localnet-only config refused: the RPC node is not on this machine, so its answers cannot prove a \
             local cluster (use the local validator's loopback URL, e.g. http://127.0.0.1:8899): {what}"
        ));
    }
    if !cluster.test_oracle_deployed {
        return Some(format!(
            "localnet-only config refused: this cluster (genesis {}) is not a local perp cluster (the test \
             oracle {} is not deployed, which only `perp localnet start` does, from genesis): {what}",
            cluster.genesis,
            perp_test_oracle::ID
        ));
    }
    None
}

/// Reads the cluster's genesis hash and whether the test oracle is deployed.
pub async fn cluster(c: &RpcChain) -> Result<Cluster, CliError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| CliError::Failed { message: format!("{what}: {e}"), details: None };
    let genesis = c.client().get_genesis_hash().await.map_err(|e| failed("genesis hash", &e))?.to_string();
    let program = c
        .client()
        .get_account_with_commitment(&perp_test_oracle::ID, CommitmentConfig::confirmed())
        .await
        .map_err(|e| failed("test oracle program account", &e))?
        .value;
    let test_oracle_deployed = program.is_some_and(|a| a.executable && LOADERS.contains(&a.owner));
    let loopback = perp_client::rpc::is_loopback_url(&c.client().url());
    Ok(Cluster { genesis, test_oracle_deployed, loopback })
}

/// Refuses a deployment that uses localnet material on anything but a local perp cluster. The
/// cluster is asked only when the deployment uses such material.
pub async fn refuse_localnet_material(c: &RpcChain, config: &Value, admin: &Pubkey) -> Result<(), CliError> {
    let material = localnet_material(config, admin);
    if material.is_empty() {
        return Ok(());
    }
    match refusal(&material, &cluster(c).await?) {
        Some(m) => Err(CliError::input(m)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perp_client::data::repo_root;
    use solana_signer::Signer;

    fn read(f: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(repo_root().join(f)).unwrap()).unwrap()
    }

    #[test]
    fn the_published_keys_are_the_files_in_migrations() {
        let key = |f: &str| {
            solana_keypair::read_keypair_file(repo_root().join("migrations/localnet").join(f)).unwrap().pubkey()
        };
        assert_eq!(key("authority.json"), PUBLISHED_AUTHORITY);
        assert_eq!(key("usdc-mint.json"), PUBLISHED_MINT);
        assert_eq!([key("sol-mint.json"), key("wbtc-mint.json")], PUBLISHED_COLLATERAL_MINTS);
    }

    #[test]
    fn the_localnet_config_runs_on_a_local_perp_cluster_only() {
        let local = read("migrations/localnet.json");
        let admin = Pubkey::new_unique();
        let material = localnet_material(&local, &admin);
        assert_eq!(material.len(), 5, "{material:?}"); // two oracle owners, the mint, two collateral mints
        let local_chain = Cluster {
            genesis: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin".into(),
            test_oracle_deployed: true,
            loopback: true,
        };
        assert_eq!(refusal(&material, &local_chain), None);
        for g in PUBLIC_GENESIS {
            // refused on a public cluster even if it claimed to hold the test oracle
            let m = refusal(&material, &Cluster { genesis: g.into(), test_oracle_deployed: true, loopback: true })
                .expect("refused");
            assert!(m.contains("public cluster") && m.contains("collateral_mint"), "{m}");
        }
        // any other chain without the test oracle (an SVM fork, a private cluster): refused
        let other = Cluster {
            genesis: "3xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin".into(),
            test_oracle_deployed: false,
            loopback: true,
        };
        let m = refusal(&material, &other).expect("refused");
        assert!(m.contains("not a local perp cluster"), "{m}");
    }

    #[test]
    fn attack_swapping_only_the_oracle_owners_still_refuses_the_published_mint() {
        // the operator copies localnet.json and puts Pyth's programs in: the mint anyone can
        // create on a public chain is still there
        let mut cfg = read("migrations/localnet.json");
        let mainnet = read("migrations/mainnet-btc.json");
        for k in ["pyth_legacy_program", "pyth_receiver_program"] {
            cfg[k] = mainnet[k].clone();
        }
        let material = localnet_material(&cfg, &Pubkey::new_unique());
        assert_eq!(material.len(), 3, "{material:?}"); // the mint and both collateral mints
        let other = Cluster { genesis: PUBLIC_GENESIS[1].into(), test_oracle_deployed: false, loopback: true };
        assert!(refusal(&material, &other).expect("refused").contains("published localnet mint"));
        // the collateral alone, settlement mint replaced: still refused
        cfg["collateral_mint"] = mainnet["collateral_mint"].clone();
        let material = localnet_material(&cfg, &Pubkey::new_unique());
        assert_eq!(material.len(), 2, "{material:?}");
        assert!(refusal(&material, &other).expect("refused").contains("collateral 0 is the published localnet mint"));
    }

    #[test]
    fn attack_the_published_authority_as_admin_is_refused_off_localnet() {
        let mainnet = read("migrations/mainnet-btc.json");
        let material = localnet_material(&mainnet, &PUBLISHED_AUTHORITY);
        assert_eq!(material.len(), 1, "{material:?}");
        let devnet = Cluster { genesis: PUBLIC_GENESIS[1].into(), test_oracle_deployed: false, loopback: true };
        assert!(refusal(&material, &devnet).expect("refused").contains("published localnet authority"));
        // the mainnet config by any other admin uses no localnet material: nothing to ask the cluster
        assert!(localnet_material(&mainnet, &Pubkey::new_unique()).is_empty());
    }

    #[test]
    fn attack_localnet_guard_behind_a_lying_rpc_proxy() {
        // a remote proxy answers getGenesisHash with a local chain's hash and the test oracle's
        // account as deployed, and forwards the transactions to mainnet: everything it says
        // looks local, but it is not on this machine
        let local = read("migrations/localnet.json");
        let material = localnet_material(&local, &Pubkey::new_unique());
        let proxy = Cluster {
            genesis: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin".into(),
            test_oracle_deployed: true,
            loopback: false,
        };
        assert!(refusal(&material, &proxy).expect("refused").contains("not on this machine"));
        for (url, ok) in [
            ("http://127.0.0.1:8899", true),
            ("http://localhost:8899", true),
            ("http://[::1]:8899", true),
            ("http://127.0.0.1.nip.io:8899", false),
            ("https://api.mainnet-beta.solana.com", false),
            ("http://10.1.2.3:8899", false),
        ] {
            assert_eq!(perp_client::rpc::is_loopback_url(url), ok, "{url}");
        }
    }
}
