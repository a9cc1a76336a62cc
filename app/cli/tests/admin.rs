//! `perp admin init` from the repository's deployment config, against the in-process bank.

use perp_cli::admin::{init, pyth_push_account};
use perp_client::bank::BankChain;
use perp_client::chain::{fetch_exchange, fetch_market, SendOptions};
use serde_json::Value;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;

#[test]
fn pull_oracle_accounts_are_pyth_push_oracle_pdas() {
    let mut f = [0u8; 32];
    let h = "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
    for (i, b) in f.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap();
    }
    // the published Solana mainnet PriceUpdateV2 account of Crypto.BTC/USD
    assert_eq!(pyth_push_account(&f, 0).to_string(), "4cSM2e6rvbGQUFiJbqytoVMi5GgghSMr8LwVrT9VPSPo");
}

#[tokio::test(flavor = "current_thread")]
async fn init_from_the_deployment_config_is_idempotent() {
    let chain = BankChain::start(1_700_000_000).await;
    let admin = Keypair::new();
    chain.fund(&admin.pubkey(), 10_000_000_000).await.unwrap();
    let mint = chain.create_mint(&admin.pubkey(), 6).await.unwrap();
    // the admin deploys the program: it is the upgrade authority initialize_exchange checks
    chain.set_account(
        perp_client::pda::program_data(),
        anchor_lang::solana_program::bpf_loader_upgradeable::ID,
        perp_client::bank::program_data_bytes(&admin.pubkey()),
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/mainnet-btc.json");
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cfg["collateral_mint"] = Value::String(mint.to_string());
    let o = SendOptions::default();

    let dry = init(&chain, &admin, &cfg, true, &o).await.unwrap();
    assert_eq!(dry.value["created"], 3);
    use perp_client::chain::Chain;
    assert!(chain.account(&perp_client::pda::exchange()).await.unwrap().is_none(), "a dry run sends nothing");

    // the insurance seeds come from the admin's associated token account: 2 x 100,000 USDC
    let ata = perp_cli::trader::associated_token_account(&admin.pubkey(), &mint);
    let mut data = vec![0u8; spl_token_interface::state::Account::LEN];
    spl_token_interface::state::Account {
        mint,
        owner: admin.pubkey(),
        amount: 250_000_000_000,
        state: spl_token_interface::state::AccountState::Initialized,
        ..Default::default()
    }
    .pack_into_slice(&mut data);
    chain.set_account(ata, spl_token_interface::ID, data);

    let out = init(&chain, &admin, &cfg, false, &o).await.unwrap();
    assert_eq!(out.value["created"], 3, "exchange + 2 markets");
    for i in 0..2 {
        assert_eq!(fetch_market(&chain, i).await.unwrap().insurance_fund, 100_000_000_000, "market {i} seeded");
    }
    assert_eq!(chain.token_balance(&ata).await.unwrap(), 50_000_000_000);
    let ex = fetch_exchange(&chain).await.unwrap();
    assert_eq!(ex.market_count, 2);
    assert_eq!(ex.collateral_mint, mint);
    assert_eq!(ex.fee_insurance_share, 200_000_000);
    let btc = fetch_market(&chain, 0).await.unwrap();
    assert_eq!(btc.name_str(), "BTC-PERP");
    assert_eq!(btc.oracles[0].key.to_string(), "4cSM2e6rvbGQUFiJbqytoVMi5GgghSMr8LwVrT9VPSPo");
    assert_eq!(btc.tiers[1].cap, 250_000_000_000);
    assert_eq!(btc.funding_cap, 940_000);
    assert_eq!(fetch_market(&chain, 1).await.unwrap().name_str(), "ETH-PERP");
    // the timelock is raised once the markets exist
    assert_eq!(fetch_exchange(&chain).await.unwrap().timelock_delay, 86_400);

    // a second run creates nothing
    let again = init(&chain, &admin, &cfg, false, &o).await.unwrap();
    assert_eq!(again.value["created"], 0);
    assert_eq!(chain.token_balance(&ata).await.unwrap(), 50_000_000_000, "seeded once");

    // a config with bad tiers is refused before anything is sent
    let mut bad = cfg.clone();
    bad["markets"][0]["tiers"] = serde_json::json!(["50000:0.02:0.03"]);
    assert!(init(&chain, &admin, &bad, false, &o).await.is_err());
}
