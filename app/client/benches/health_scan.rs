//! The keeper's health scan: 100,000 decoded margin accounts against current prices, as the
//! keeper runs it (funding owed included, every margin group checked), on 1 and 2 threads.
//! Prints accounts per second.

use criterion::{criterion_group, criterion_main, Criterion};
use perp::engine::prices::view;
use perp::state::{MarginAccount, Market, Position, TierData};
use perp_client::preview::{scan_accounts, MarketState};
use perp_client::Pubkey;
use perp_core::vamm::Vamm;
use perp_core::Price;
use std::collections::BTreeMap;
use std::time::Instant;

const N: usize = 100_000;

fn market(i: u16, price: u64) -> MarketState {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.market_index = i;
    m.funding_interval = 3600;
    m.next_funding_time = 3600;
    m.set_vamm(&Vamm::new(10_000_000_000_000, Price(price)).unwrap());
    let tiers = [(50_000, 20, 10), (250_000, 40, 20), (1_000_000, 100, 50), (10_000_000, 200, 100)];
    for (k, (cap, imr, mmr)) in tiers.iter().enumerate() {
        m.tiers[k] = TierData { cap: cap * 1_000_000, imr: imr * 1_000_000, mmr: mmr * 1_000_000 };
    }
    m.num_tiers = 4;
    m.cum_funding_long.set(12_345_678_901);
    m.cum_funding_short.set(12_345_678_901);
    let v = view(&m, Price(price), 0).unwrap();
    MarketState { market: m, index: Price(price), live: true, view: v }
}

fn accounts() -> Vec<(Pubkey, MarginAccount)> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..N)
        .map(|i| {
            let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
            a.cross_collateral = (1_000 + (rnd() % 50_000) as i64) * 1_000_000;
            let n = 1 + (rnd() % 4) as usize;
            for s in 0..n {
                let price = [20_000i64, 1_500, 100, 5][s] * 1_000_000;
                let size = ((rnd() % 2_000) as i64 - 1_000) * 1_000_000; // +-1 unit
                let size = if size == 0 { 1_000_000 } else { size };
                a.positions[s] = Position {
                    base: size,
                    quote_entry: -(size as i128 * price as i128 / 1_000_000_000) as i64,
                    market_index: s as u16,
                    flags: 1 | if rnd() % 5 == 0 { 2 } else { 0 },
                    isolated_collateral: if s == 0 { 500_000_000 } else { 0 },
                    ..Default::default()
                };
            }
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            (Pubkey::new_from_array(key), a)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let markets: BTreeMap<u16, MarketState> =
        [(0, 19_000_000_000u64), (1, 1_400_000_000), (2, 95_000_000), (3, 4_800_000)]
            .iter()
            .map(|(i, p)| (*i, market(*i, *p)))
            .collect();
    let accts = accounts();
    for threads in [1usize, 2] {
        let start = Instant::now();
        let found = scan_accounts(&accts, &markets, &Default::default(), 0, threads);
        let el = start.elapsed();
        println!(
            "health scan, {threads} thread(s): {N} accounts in {:.1} ms = {:.0} accounts/s ({} liquidatable)",
            el.as_secs_f64() * 1e3,
            N as f64 / el.as_secs_f64(),
            found.len()
        );
    }
    let mut g = c.benchmark_group("keeper health scan");
    g.sample_size(10);
    g.bench_function("100k accounts, 2 threads", |b| {
        b.iter(|| scan_accounts(&accts, &markets, &Default::default(), 0, 2).len())
    });
    g.bench_function("100k accounts, 1 thread", |b| {
        b.iter(|| scan_accounts(&accts, &markets, &Default::default(), 0, 1).len())
    });
    g.finish();
}

criterion_group!(scan, bench);
criterion_main!(scan);
