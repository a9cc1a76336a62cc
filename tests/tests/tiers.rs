//! A full published tier table through the program: Binance's BTCUSDT 125x table (10 brackets,
//! announcement of 2021-03-18), created through the timelocked `CreateMarket` and read back from
//! the Market account, with the maintenance the program computes equal to Binance's formula
//! `notional x rate - maintenance amount` in every bracket.

use perp::state::TierParams;
use perp_core::margin::{requirement, tier_amount, MarginKind};
use perp_core::Quote;
use perp_tests::*;

const PCT: i64 = 10_000_000; // 1% as a rate

/// `(upper notional in USDT (0 = unbounded), maintenance %, initial %)` x 100 for two decimals.
const BINANCE_BTCUSDT: [(i64, i64, i64); 10] = [
    (50_000, 40, 80),
    (250_000, 50, 100),
    (1_000_000, 100, 200),
    (10_000_000, 250, 500),
    (20_000_000, 500, 1_000),
    (50_000_000, 1_000, 2_000),
    (100_000_000, 1_250, 2_500),
    (200_000_000, 1_500, 3_330),
    (300_000_000, 2_500, 5_000),
    (0, 5_000, 10_000),
];

/// The maintenance amounts ("cum") Binance's rule gives for these rates, USDT.
const CUM: [i64; 10] = [0, 50, 1_300, 16_300, 266_300, 1_266_300, 2_516_300, 5_016_300, 25_016_300, 100_016_300];

#[tokio::test]
async fn binance_ten_bracket_table_loads_and_prices_like_binance() {
    let mut env = Env::new().await;
    let oracle = solana_keypair::Keypair::new();
    let key = solana_signer::Signer::pubkey(&oracle);
    env.set_legacy_oracle(key, usd(60_000), usd(5), T0);
    let mut p = default_market_params(vec![legacy_oracle(key)]);
    p.tiers = BINANCE_BTCUSDT
        .iter()
        .map(|&(cap, mmr, imr)| TierParams {
            cap: if cap == 0 { i64::MAX } else { cap * USDC as i64 },
            imr: imr * PCT / 100,
            mmr: mmr * PCT / 100,
        })
        .collect();
    p.max_leverage = 125;
    p.liquidation_fee = 2 * PCT / 10; // below the first bracket's 0.4% maintenance
    p.funding_cap = 3 * PCT / 10; // 0.3% <= the first bracket's 0.4% maintenance
    env.create_market(0, p.clone(), 1_000, usd(60_000)).await;

    let m = env.market(0).await;
    assert_eq!(m.tier_count(), 10);
    assert_eq!(core::mem::size_of::<perp::state::Market>(), 1824, "12 tiers fit in the 1,824-byte Market");
    assert_eq!(perp::state::MarketParams::from_market(&m).tiers, p.tiers, "stored as given");
    let tiers = m.tier_slice();
    for (k, cum) in CUM.iter().enumerate() {
        assert_eq!(tier_amount(tiers, k, MarginKind::Maintenance).unwrap(), Quote(cum * USDC as i64), "bracket {k}");
    }
    // the program's maintenance for a notional inside every bracket is Binance's formula
    let mut lo = 0i64;
    for (k, &(cap, mmr, _)) in BINANCE_BTCUSDT.iter().enumerate() {
        let hi = if cap == 0 { 800_000_000 } else { cap };
        for notional in [lo + 1, (lo + hi) / 2, hi] {
            let n = Quote(notional * USDC as i64);
            let binance = notional * USDC as i64 / 10_000 * mmr - CUM[k] * USDC as i64;
            assert_eq!(requirement(tiers, n, MarginKind::Maintenance).unwrap(), Quote(binance), "{notional} USDT");
        }
        lo = hi;
    }
}
