//! Hot paths of the risk engine.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use perp_core::adl::{rank, AdlCandidate, AdlScore};
use perp_core::funding::funding_event;
use perp_core::index::{compute_index, IndexConfig, IndexMethod, SourceReading};
use perp_core::liquidation::liquidation_price;
use perp_core::margin::{requirement, Health, MarginKind, PositionState, Tier, UNBOUNDED};
use perp_core::vamm::{Side, Vamm};
use perp_core::{Base, Price, Quote, Rate};

const USD: i64 = 1_000_000;

fn tiers() -> Vec<Tier> {
    let caps = [50_000, 250_000, 1_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000];
    let mut t: Vec<Tier> = caps
        .iter()
        .enumerate()
        .map(|(i, c)| Tier {
            cap: Quote(c * USD),
            imr: Rate(20_000_000 * (i as i64 + 1)),
            mmr: Rate(10_000_000 * (i as i64 + 1)),
        })
        .collect();
    t.push(Tier { cap: UNBOUNDED, imr: Rate(500_000_000), mmr: Rate(250_000_000) });
    t
}

fn benches(c: &mut Criterion) {
    let sources: Vec<SourceReading> = (0..8)
        .map(|i| SourceReading {
            price: Price(20_000_000_000 + i * 3_000_000),
            conf: Price(5_000_000),
            publish_time: 100,
            weight: 1,
            ema: Price(0),
        })
        .collect();
    let cfg = IndexConfig {
        max_age: 60,
        max_conf: Rate(20_000_000),
        max_deviation: Rate(30_000_000),
        min_sources: 3,
        method: IndexMethod::Median,
    };
    c.bench_function("index: 8 sources, median", |b| b.iter(|| compute_index(black_box(&sources), 120, &cfg).unwrap()));

    let v = Vamm::new(10_000_000_000_000, Price(20_000_000_000)).unwrap();
    c.bench_function("vamm: quote 1 BTC", |b| {
        b.iter(|| v.quote_trade(Side::Long, black_box(Base(1_000_000_000))).unwrap())
    });
    c.bench_function("vamm: impact bid+ask", |b| {
        b.iter(|| (v.impact_bid(black_box(Quote(20_000 * USD))).unwrap(), v.impact_ask(Quote(20_000 * USD)).unwrap()))
    });

    let t = tiers();
    c.bench_function("margin: 8-tier requirement", |b| {
        b.iter(|| requirement(&t, black_box(Quote(7_345_678 * USD)), MarginKind::Maintenance).unwrap())
    });
    let pos = PositionState { base: Base(50_000_000_000), quote_entry: Quote(-1_000_000 * USD) };
    c.bench_function("health: one position", |b| {
        b.iter(|| {
            let mut h = Health::new(Quote(100_000 * USD));
            h.add_position(black_box(&pos), Price(19_500_000_000), Quote(0), &t).unwrap();
            h.is_liquidatable()
        })
    });
    c.bench_function("liquidation price: 8 tiers", |b| {
        b.iter(|| liquidation_price(black_box(&pos), Quote(100_000 * USD), &t).unwrap())
    });
    c.bench_function("funding event", |b| {
        b.iter(|| {
            funding_event(
                black_box(Rate(12_500)),
                Price(20_000_000_000),
                Base(7_000_000_000_000),
                Base(5_000_000_000_000),
                Quote(1_000),
            )
            .unwrap()
        })
    });
    let cands: Vec<AdlCandidate> = (0..1000u32)
        .map(|i| {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            AdlCandidate { key, size: Base(1_000_000_000), score: AdlScore((i as i128 * 7919) % 1000) }
        })
        .collect();
    c.bench_function("adl: rank 1,000 candidates", |b| {
        b.iter(|| {
            let mut v = cands.clone();
            rank(&mut v);
            v[0].score
        })
    });
}

criterion_group!(core, benches);
criterion_main!(core);
