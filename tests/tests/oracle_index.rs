//! The index from real Pyth bytes and real multi-exchange prices, read by the program.

use perp::error::PerpError;
use perp::oracle::{legacy, pull};
use perp_client::data::{repo_root, Series};
use perp_client::oracle_data::{PYTH_LEGACY_PROGRAM, PYTH_RECEIVER_PROGRAM};
use perp_core::index::{compute_index, SourceReading};
use perp_core::{Price, Rate};
use perp_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pyth").join(name)).unwrap()
}

const AAPL: &str = "pythnet_AAPL_USD_price_account_12576.bin";
const MAINNET_2021: &str = "solana_mainnet_2021_price_account_synthheader_padded3312.bin";
const DEVNET_OLD: &str = "legacy_v2_J83w4HKfqxwcq3BEMMkPFSppX3gqekLyLJBexebFVkix.bin";
const PRODUCT: &str = "legacy_v2_3Mnn2fX6rQyUsyELYms1sBJyChWofzSNRoqYzvgMVz5E.bin";
const PULL_PARTIAL: &str = "drift_PYTH_ORACLE_ONE_DATA.priceupdatev2.bin";
const PULL_FULL: &str = "drift_PYTH_ORACLE_TWO_DATA.priceupdatev2.bin";
const SOL_FEED: [u8; 32] = [
    0xef, 0x0d, 0x8b, 0x6f, 0xda, 0x2c, 0xeb, 0xa4, 0x1d, 0xa1, 0x5d, 0x40, 0x95, 0xd1, 0xda, 0x39, 0x2a, 0x0d, 0x2f,
    0x8e, 0xd0, 0xc6, 0xc7, 0xbc, 0x0f, 0x4c, 0xfa, 0xc8, 0xc2, 0x80, 0xb5, 0x6d,
];

#[test]
fn legacy_reader_matches_the_published_values_and_the_pyth_sdk() {
    let d = fixture(AAPL);
    let p = legacy::parse(&d).unwrap();
    assert_eq!((p.price, p.conf, p.expo, p.publish_time, p.status), (23623373, 14454, -5, 1739388661, 1));
    // cross-check against Pyth's own SDK decoder (copy into an aligned buffer first)
    let mut aligned = vec![0u64; d.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut aligned)[..d.len()].copy_from_slice(&d);
    let sdk =
        pyth_sdk_solana::state::load_price_account::<32, ()>(&bytemuck::cast_slice::<u64, u8>(&aligned)[..d.len()])
            .unwrap();
    assert_eq!(sdk.agg.price, p.price);
    assert_eq!(sdk.agg.conf, p.conf);
    assert_eq!(sdk.expo, p.expo);
    assert_eq!(sdk.timestamp, p.publish_time);

    let p = legacy::parse(&fixture(MAINNET_2021)).unwrap();
    assert_eq!((p.price, p.conf, p.expo), (70712500000, 36630500, -8));
    let p = legacy::parse(&fixture(DEVNET_OLD)).unwrap();
    assert_eq!((p.price, p.expo, p.publish_time), (39838750000, -9, 0));
    assert_eq!(legacy::parse(&fixture(PRODUCT)), Err(legacy::LegacyError::NotAPriceAccount));
    assert_eq!(legacy::parse(&fixture(PULL_FULL)), Err(legacy::LegacyError::TooShort));
}

#[test]
fn pull_reader_matches_the_published_values() {
    let one = pull::parse(&fixture(PULL_PARTIAL)).unwrap();
    assert_eq!(
        (one.price, one.conf, one.expo, one.publish_time, one.full, one.signatures),
        (14856315152, 9859015, -8, 1718136300, false, 5)
    );
    assert_eq!(one.feed_id, SOL_FEED);
    let two = pull::parse(&fixture(PULL_FULL)).unwrap();
    assert_eq!((two.price, two.conf, two.publish_time, two.full), (13467731930, 13012302, 1718727936, true));
    assert!(pull::parse(&fixture(AAPL)).is_none());
}

/// One market per real account: the program's index from the unmodified bytes.
#[tokio::test(flavor = "current_thread")]
async fn program_reads_real_accounts() {
    let mut env = Env::new().await;
    let aapl = Keypair::new().pubkey();
    let full = Keypair::new().pubkey();
    let partial = Keypair::new().pubkey();
    let old = Keypair::new().pubkey();
    let product = Keypair::new().pubkey();
    env.set_raw_account(aapl, fixture(AAPL), PYTH_LEGACY_PROGRAM);
    env.set_raw_account(full, fixture(PULL_FULL), PYTH_RECEIVER_PROGRAM);
    env.set_raw_account(partial, fixture(PULL_PARTIAL), PYTH_RECEIVER_PROGRAM);
    env.set_raw_account(old, fixture(DEVNET_OLD), PYTH_LEGACY_PROGRAM);
    env.set_raw_account(product, fixture(PRODUCT), PYTH_LEGACY_PROGRAM);

    // market 0: the Pythnet AAPL account, read 10 s after its publish time
    let mut p = default_market_params(vec![legacy_oracle(aapl)]);
    p.max_conf = 10_000_000;
    env.create_market(0, p, 1_000, usd(236)).await;
    env.set_clock(1739388661 + 10).await;
    env.crank_funding(0).await.unwrap();
    assert_eq!(env.market(0).await.last_index, 236_233_730);
    // 61 s later the same bytes are stale
    env.set_clock(1739388661 + 61).await;
    assert_error(env.crank_funding(0).await, PerpError::TooFewSources);

    // market 1: the fully verified pull update is read; the partially verified one is refused
    env.create_market(1, default_market_params(vec![pull_oracle(full, SOL_FEED)]), 1_000, usd(134)).await;
    env.create_market(2, default_market_params(vec![pull_oracle(partial, SOL_FEED)]), 1_000, usd(148)).await;
    env.set_clock(1718727936 + 5).await;
    env.crank_funding(1).await.unwrap();
    assert_eq!(env.market(1).await.last_index, 134_677_319);
    env.set_clock(1718136300 + 5).await;
    assert_error(env.crank_funding(2).await, PerpError::TooFewSources);
    // ... unless the market allows partial verification with at most its 5 guardian signatures
    let mut p = default_market_params(vec![pull_oracle(partial, SOL_FEED)]);
    p.allow_partial_verification = true;
    p.min_signatures = 6;
    env.update_market(2, p.clone()).await.unwrap();
    assert_error(env.crank_funding(2).await, PerpError::TooFewSources);
    p.min_signatures = 5;
    env.update_market(2, p).await.unwrap();
    env.crank_funding(2).await.unwrap();
    assert_eq!(env.market(2).await.last_index, 148_563_151);
    // a pull account for another feed is dropped
    let mut p = default_market_params(vec![pull_oracle(full, [1; 32])]);
    p.max_age = 10;
    p.withdraw_max_age = 10;
    env.update_market(1, p).await.unwrap();
    env.set_clock(1718727936 + 5).await;
    assert_error(env.crank_funding(1).await, PerpError::TooFewSources);

    // market 3: the early-2021 devnet account has timestamp 0 (stale at any time); a product
    // account is not a price: both are dropped and the index fails
    let mut p = default_market_params(vec![legacy_oracle(old), legacy_oracle(product)]);
    p.min_sources = 1;
    p.impact_notional = 1_000 * USDC as i64; // at most a tenth of a 40,000 curve
    env.create_market(3, p, 1_000, usd(40)).await;
    assert_error(env.crank_funding(3).await, PerpError::TooFewSources);
    env.assert_conservation().await;
}

/// The six venues of the 2023-03-10..13 window, each driving its own oracle (legacy and pull
/// mixed). Every minute of 2023-03-11 06:30-08:00 UTC, the program's index must equal perp-core's
/// for the same readings, and it must not follow the USDC-quoted venues: at 07:17 Kraken BTC/USDC
/// printed 26,127.17 while BTC/USD was ~20.3k.
#[tokio::test(flavor = "current_thread")]
async fn real_prices_index_filters_the_usdc_dislocation() {
    let root = repo_root();
    let files = [
        ("data/prices/binanceus_BTCUSD_1m_2023-03-10_to_2023-03-13.csv", false),
        ("data/prices/binanceus_BTCUSDT_1m_2023-03-10_to_2023-03-13.csv", true),
        ("data/prices/kraken_XBTUSD_5m_2023-03-10_to_2023-03-13.csv", false),
        ("data/prices/kraken_XBTUSDT_5m_2023-03-10_to_2023-03-13.csv", true),
        ("data/prices/binanceus_BTCUSDC_1m_2023-03-10_to_2023-03-13.csv", false),
        ("data/prices/kraken_XBTUSDC_1m_2023-03-10_to_2023-03-13.csv", true),
    ];
    let series: Vec<Series> = files.iter().map(|(f, _)| Series::load(&root.join(f)).unwrap()).collect();
    let mut env = Env::new().await;
    let keys: Vec<_> = files.iter().map(|_| Keypair::new().pubkey()).collect();
    let feed = [9u8; 32];
    let oracles = files
        .iter()
        .zip(&keys)
        .map(|((_, is_pull), k)| if *is_pull { pull_oracle(*k, feed) } else { legacy_oracle(*k) })
        .collect();
    let mut params = default_market_params(oracles);
    params.min_sources = 3;
    params.max_age = 600; // Kraken's 5-minute bars publish every 300 s and thin books skip minutes
    params.max_deviation = 30_000_000; // 3%
    let cfg = perp_core::index::IndexConfig {
        max_age: 600,
        max_conf: Rate(params.max_conf),
        max_deviation: Rate(params.max_deviation),
        min_sources: 3,
        method: perp_core::index::IndexMethod::Median,
    };
    env.set_clock(1678516200).await;
    env.create_market(0, params, 1_000, usd(20_300)).await;

    let spike_minute = 1678519020; // 07:17
    let mut t = 1678516200; // 06:30
    while t <= 1678521600 {
        env.set_clock(t).await;
        let mut readings = Vec::new();
        for (i, s) in series.iter().enumerate() {
            // the Kraken USDC feed reports the spike print during 07:17
            let (price, published) = if i == 5 && t == spike_minute + 60 {
                (s.containing(spike_minute).unwrap().high, t - 1)
            } else {
                match s.latest(t) {
                    Some(b) => (b.close, b.publish_time()),
                    None => (Price(0), 0),
                }
            };
            let conf = Price(price.0 / 2000); // 0.05%
            if files[i].1 {
                env.set_pull_oracle(keys[i], feed, price, conf, published, true);
            } else {
                env.set_legacy_oracle(keys[i], price, conf, published);
            }
            readings.push(SourceReading { price, conf, publish_time: published, weight: 1, ema: price });
        }
        let expected = compute_index(&readings, t, &cfg).unwrap();
        env.crank_funding(0).await.unwrap();
        let m = env.market(0).await;
        let want = expected.price().unwrap();
        // legacy accounts store 10^-8 mantissas and pull accounts 10^-8 as well: exact
        assert_eq!(m.last_index, want.0, "minute {t}");
        // both USDC venues are dropped as outliers whenever they are more than 3% away
        let usd = series[0].latest(t).unwrap().close;
        let dev = (m.last_index as i64 - usd.0 as i64).abs() as f64 / usd.0 as f64;
        assert!(dev < 0.01, "index {} vs BTC/USD {} at {t}", m.last_index, usd.0);
        if t == spike_minute + 60 {
            assert!(matches!(expected.dropped[5], Some(perp_core::DropReason::Outlier { .. })));
            assert!(matches!(expected.dropped[4], Some(perp_core::DropReason::Outlier { .. })));
            // hand-computed at 07:18: anchor median of all six is (20283.49 + 20350) / 2 =
            // 20316.745; Binance USDC 21651.28 (+6.6%) and the 26127.17 print are outliers.
            // Survivors: 20283.49 (Binance USD 07:17 close), 20184.48 (Binance USDT), 20350.0
            // (Kraken USD 07:10 bar), 20250.0 (Kraken USDT 07:10 bar) -> median 20266.745
            assert_eq!(m.last_index, 20_266_745_000);
        }
        t += 60;
    }
    env.assert_conservation().await;
}
