//! A new user's mistakes, each answered with what happened and what to do (issue 25, item 5):
//! no node at the URL, no keypair, an unfunded keypair, no margin account, a wrong market, a
//! paused or reduce-only market, a size below the minimum. The binary for the first two (no
//! cluster is needed to be wrong), the trader functions on the in-process bank for the others.

use perp_cli::output::CliError;
use perp_cli::trader::{self, AccountCmd, IdArg, TradeArgs, TradeCmd};
use perp_client::bank::Bootstrap;
use perp_client::chain::{Chain, SendOptions};
use perp_client::{oracle_data, pda, Pubkey};
use perp_core::Price;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::process::Command;

mod common;
use common::{btc_params, T0, USDC};

/// Runs the binary; (exit code, stderr).
fn perp(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perp"))
        .args(args)
        .env("HOME", "/nonexistent-home")
        .output()
        .expect("run perp");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

/// A URL where nothing listens.
fn closed_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn no_node_says_no_cluster_answers_and_how_to_start_one() {
    let rpc = closed_url();
    let dir = std::env::temp_dir().join(format!("perp-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("id.json");
    solana_keypair::write_keypair_file(&Keypair::new(), &key).unwrap();
    let k = key.to_str().unwrap();
    let owner = Keypair::new().pubkey().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["market", "list"],
        vec!["market", "show", "--market", "0"],
        vec!["collateral", "list"],
        vec!["account", "show", "--owner", &owner],
        vec!["position", "list", "--owner", &owner],
        vec!["order", "list", "--owner", &owner],
        vec!["--keypair", k, "account", "create"],
        vec!["--keypair", k, "account", "deposit", "--amount", "10"],
        vec!["--keypair", k, "trade", "buy", "--market", "BTC-PERP", "--size", "0.1"],
        vec![
            "--keypair",
            k,
            "order",
            "place",
            "--market",
            "0",
            "--kind",
            "limit",
            "--side",
            "buy",
            "--size",
            "0.1",
            "--limit",
            "20000",
        ],
        vec!["--keypair", k, "position", "close", "--market", "0"],
    ];
    for c in commands {
        let mut args = vec!["--rpc", rpc.as_str()];
        args.extend(c.iter());
        let (code, err) = perp(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(&format!("no cluster answers at {rpc}")), "{args:?}: {err}");
        assert!(err.contains("perp localnet start") && err.contains("--rpc URL"), "{args:?}: {err}");
        assert!(!err.contains("SysvarC1ock") && !err.contains("error sending request"), "raw transport text: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_keypair_says_how_to_make_one() {
    for c in [
        vec!["trade", "buy", "--market", "0", "--size", "0.1"],
        vec!["account", "create"],
        vec!["account", "show"],
        vec!["order", "place", "--market", "0", "--kind", "limit", "--side", "buy", "--size", "0.1", "--limit", "1"],
    ] {
        let (code, err) = perp(&c);
        assert_eq!(code, 2, "{c:?}: {err}");
        assert!(err.contains("/nonexistent-home/.config/solana/id.json not found"), "{c:?}: {err}");
        assert!(err.contains("--keypair FILE") && err.contains("solana-keygen new"), "{c:?}: {err}");
    }
    // a file that is not a keypair
    let bad = std::env::temp_dir().join(format!("perp-not-a-key-{}.json", std::process::id()));
    std::fs::write(&bad, "{\"hello\":1}").unwrap();
    let (code, err) = perp(&["--keypair", bad.to_str().unwrap(), "account", "create"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a JSON array of 64 bytes"), "{err}");
    let _ = std::fs::remove_file(bad);
}

fn buy(market: &str, size: &str) -> TradeCmd {
    TradeCmd::Buy(TradeArgs {
        market: market.into(),
        size: size.into(),
        limit: None,
        slippage: None,
        isolated: None,
        reduce_only: false,
        stop_loss: None,
        take_profit: None,
        dry_run: false,
        id: 0,
    })
}

fn message(r: Result<perp_cli::output::Output, CliError>) -> (bool, String) {
    let e = r.err().expect("the command must fail");
    (matches!(e, CliError::Input(_)), e.message().to_string())
}

#[tokio::test(flavor = "current_thread")]
async fn trader_mistakes_on_a_cluster_are_explained() {
    let b = Bootstrap::new(T0, 200_000_000).await.unwrap();
    let oracles = [Keypair::new().pubkey(), Keypair::new().pubkey()];
    for k in &oracles {
        b.chain.set_account(
            *k,
            oracle_data::PYTH_LEGACY_PROGRAM,
            oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, Price(20_000_000_000), Price(2_000_000), T0),
        );
    }
    b.create_market(0, btc_params(&oracles), 1_000_000_000_000, Price(20_000_000_000)).await.unwrap();
    let c = &b.chain;
    let o = SendOptions::default();

    // an unfunded keypair: no SOL for the fee
    let poor = Keypair::new();
    perp_cli::hints::set_payer(poor.pubkey());
    let (_, m) = message(trader::account(c, Some(&poor), &AccountCmd::Create(IdArg { id: 0 }), &o).await);
    assert!(m.contains(&format!("the fee payer {} has no SOL", poor.pubkey())), "{m}");
    assert!(m.contains("perp localnet faucet") && m.contains("nothing was done"), "{m}");

    // funded, but no margin account yet
    let kp = Keypair::new();
    perp_cli::hints::set_payer(kp.pubkey());
    c.fund(&kp.pubkey(), 1_000_000_000).await.unwrap();
    let (_, m) = message(trader::trade(c, Some(&kp), &buy("BTC-PERP", "0.1"), &o).await);
    assert!(
        m.contains("has no margin account") && m.contains("perp account create") && m.contains("perp account deposit"),
        "{m}"
    );

    let token = c.token_account(&b.mint, &kp.pubkey(), 50_000 * USDC, &b.admin).await.unwrap();
    trader::account(c, Some(&kp), &AccountCmd::Create(IdArg { id: 0 }), &o).await.unwrap();
    let dep = trader::MoveArgs { amount: "1000".into(), mint: None, id: 0, token: Some(token.to_string()) };
    trader::account(c, Some(&kp), &AccountCmd::Deposit(dep), &o).await.unwrap();

    // a wrong market, by name and by number: the markets there are
    for wrong in ["ETH-PERP", "7"] {
        let (input, m) = message(trader::trade(c, Some(&kp), &buy(wrong, "0.1"), &o).await);
        assert!(input, "{m}");
        assert!(m.contains(&format!("--market {wrong}: no such market; the markets are BTC-PERP (0)")), "{m}");
    }

    // a size below the minimum (0.001): refused before signing, with the minimum
    let (input, m) = message(trader::trade(c, Some(&kp), &buy("BTC-PERP", "0.0001"), &o).await);
    assert!(input && m.contains("below the market's minimum 0.001"), "{m}");

    // --reduce-only on an order that opens a position; a slippage out of range
    let mut ro = buy("BTC-PERP", "0.01");
    if let TradeCmd::Buy(a) = &mut ro {
        a.reduce_only = true;
    }
    let (input, m) = message(trader::trade(c, Some(&kp), &ro, &o).await);
    assert!(input && m.contains("--reduce-only: this order would not reduce your position"), "{m}");
    let mut bad = buy("BTC-PERP", "0.01");
    if let TradeCmd::Buy(a) = &mut bad {
        a.slippage = Some("75".into());
    }
    let (input, m) = message(trader::trade(c, Some(&kp), &bad, &o).await);
    assert!(input && m.contains("--slippage '75'"), "{m}");
    // without --limit the order signs the preview's fill moved by the slippage (0.5 % here)
    let mut dry = buy("BTC-PERP", "0.01");
    if let TradeCmd::Buy(a) = &mut dry {
        a.slippage = Some("0.5".into());
        a.dry_run = true;
    }
    let out = trader::trade(c, Some(&kp), &dry, &o).await.unwrap();
    let fill = Price::parse(out.value["estimated_fill"].as_str().unwrap()).unwrap();
    let limit = Price::parse(out.value["limit_price"].as_str().unwrap()).unwrap();
    assert_eq!(limit.0, (fill.0 as u128 * 10_050 / 10_000) as u64, "{}", out.value);
    // a position to reduce later
    trader::trade(c, Some(&kp), &buy("BTC-PERP", "0.01"), &o).await.unwrap();
    // a paused market (the admin's pause, in force for another 600 s), then reduce-only
    let key = pda::market(0);
    let raw = c.account(&key).await.unwrap().unwrap();
    let set_status = |status: u8, until: i64| {
        let mut data = raw.data.clone();
        let mut m: perp::state::Market =
            *bytemuck::from_bytes(&data[8..8 + std::mem::size_of::<perp::state::Market>()]);
        m.status = status;
        m.paused_until = until;
        data[8..8 + std::mem::size_of::<perp::state::Market>()].copy_from_slice(bytemuck::bytes_of(&m));
        c.set_account(key, perp::ID, data);
    };
    set_status(perp::state::market_status::PAUSED, T0 + 600);
    let (_, m) = message(trader::trade(c, Some(&kp), &buy("BTC-PERP", "0.1"), &o).await);
    assert!(m.contains("market BTC-PERP is paused until unix time") && m.contains("600 s from now"), "{m}");
    assert!(m.contains("perp market show --market BTC-PERP"), "{m}");
    // reducing is never paused (as in the program): half of the position goes
    let sell = |size: &str| {
        TradeCmd::Sell(TradeArgs {
            market: "BTC-PERP".into(),
            size: size.into(),
            limit: None,
            slippage: None,
            isolated: None,
            reduce_only: true,
            stop_loss: None,
            take_profit: None,
            dry_run: false,
            id: 0,
        })
    };
    trader::trade(c, Some(&kp), &sell("0.005"), &o).await.unwrap();
    set_status(perp::state::market_status::REDUCE_ONLY, 0);
    let (_, m) = message(trader::trade(c, Some(&kp), &buy("BTC-PERP", "0.1"), &o).await);
    assert!(m.contains("only accepts orders that reduce a position"), "{m}");
    // a reduce that would leave less than the minimum is refused before signing
    let (input, m) = message(trader::trade(c, Some(&kp), &sell("0.0045"), &o).await);
    assert!(input && m.contains("below the market's minimum 0.001"), "{m}");
    trader::trade(c, Some(&kp), &sell("0.005"), &o).await.unwrap();
    // nothing was lost on the way: the deposit is there, less the two trades' fees and spread
    let a = perp_client::chain::fetch_margin(c, &pda::margin_account(&kp.pubkey(), 0)).await.unwrap();
    assert!(a.find(0).is_none());
    assert!(
        a.cross_collateral > 999 * USDC as i64 && a.cross_collateral < 1000 * USDC as i64,
        "{}",
        a.cross_collateral
    );
    let _: Pubkey = key;
}

/// A transport failure is phrased by what is known of it: nothing answered (start a node), the
/// node was slow, or the request reached it (a transaction on its way may still land).
#[test]
fn transport_failures_are_told_apart() {
    use perp_client::chain::ChainError;
    perp_cli::hints::set_rpc("http://node.example:8899");
    let say = |m: &str| perp_cli::hints::chain_error(ChainError::Transport(m.into())).message().to_string();
    let m = say("connection refused or no route: error sending request for url (http://node.example:8899/)");
    assert!(
        m.starts_with("no cluster answers at http://node.example:8899") && m.contains("perp localnet start"),
        "{m}"
    );
    let m =
        say("AccountNotFound: pubkey=SysvarC1ock11111111111111111111111111111111: error sending request for url (x)");
    assert!(m.starts_with("no cluster answers at"), "a read the node never answered: {m}");
    let m = say("timed out: error sending request for url (http://node.example:8899/)");
    assert!(m.contains("did not answer in time") && m.contains("may still land"), "{m}");
    assert!(!m.contains("perp localnet start"), "{m}");
    let m = say("request failed after connecting: error sending request for url (http://node.example:8899/)");
    assert!(m.contains("failed") && m.contains("may still land") && !m.contains("no cluster answers"), "{m}");
}
