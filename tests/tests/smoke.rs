use perp::instructions::OrderSide;
use perp_client::ix;
use perp_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test(flavor = "current_thread")]
async fn deposit_trade_close_withdraw() {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(10), T0);
    env.create_market(0, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
    let alice = env.user(100_000 * USDC, 10_000 * USDC).await;
    env.assert_conservation().await;
    env.trade(&alice, 0, order(OrderSide::Long, BTC)).await.unwrap();
    let a = env.margin(&alice.account).await;
    assert_eq!(a.positions[0].base, BTC);
    env.assert_conservation().await;
    env.close(&alice, 0).await.unwrap();
    env.assert_conservation().await;
    let a = env.margin(&alice.account).await;
    assert!(!a.positions[0].in_use());
    let free = a.cross_collateral as u64;
    let r = env.send(&[ix::withdraw(alice.key(), alice.account, alice.token, free, &[])], &[&alice.kp]).await;
    r.unwrap();
    env.assert_conservation().await;
}
