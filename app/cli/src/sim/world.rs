//! The replay's world: the in-process bank with the program, one Pyth account per price series,
//! the trader population, the arbitrageur and the keeper.

use super::config::{sim_market_params, SimConfig, USDC};
use super::report::SimSummary;
use super::traders::{Strategy, Trader};
use crate::keeper::{Keeper, KeeperConfig};
use perp::state::OracleParams;
use perp_client::bank::{BankChain, Bootstrap};
use perp_client::chain::{Chain, SendOptions};
use perp_client::data::{Bar, Series};
use perp_client::{ix, oracle_data, Pubkey};
use perp_core::Price;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub(super) struct Sim {
    pub boot: Bootstrap,
    pub keeper: Keeper<BankChain>,
    pub traders: Vec<Trader>,
    pub arb: Option<Trader>,
    pub series: Vec<Series>,
    pub oracles: Vec<Pubkey>,
    pub last_publish: Vec<i64>,
    pub rng: ChaCha8Rng,
    pub history: Vec<f64>,
    pub summary: SimSummary,
    /// The collateral scenario's traders and USDC feeds.
    pub collateral: Option<super::collateral::CollateralRun>,
}

/// Repeats `series` until they cover `minutes` from their common start: repetition k is shifted
/// by k spans and its prices scaled by (last close / first close)^k of the median series, so the
/// price path continues where the previous repetition ended.
pub(super) fn repeat_series(series: &mut [Series], minutes: i64) {
    let start = series.iter().map(|s| s.start()).min().unwrap_or(0);
    let end = series.iter().map(|s| s.end()).max().unwrap_or(0);
    let span = (end - start + 59) / 60 * 60;
    if span <= 0 || end - start >= minutes * 60 {
        return;
    }
    let reps = ((minutes * 60 + span - 1) / span) as usize;
    let mut ratios: Vec<f64> =
        series.iter().map(|s| s.bars[s.bars.len() - 1].close.0 as f64 / s.bars[0].close.0.max(1) as f64).collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    for s in series.iter_mut() {
        let one: Vec<Bar> = s.bars.clone();
        s.bars.reserve(one.len() * (reps - 1));
        let mut scale = 1.0;
        for k in 1..reps {
            scale *= ratio;
            let scaled = |p: Price| Price(((p.0 as f64) * scale).round().max(1.0) as u64);
            s.bars.extend(one.iter().map(|b| Bar {
                open_time: b.open_time + k as i64 * span,
                close: scaled(b.close),
                high: scaled(b.high),
                low: scaled(b.low),
                ..*b
            }));
        }
    }
}

impl Sim {
    pub async fn new(cfg: &SimConfig) -> Result<(Sim, i64, i64), String> {
        let mut series: Vec<Series> = cfg.files.iter().map(|p| Series::load(p)).collect::<Result<_, _>>()?;
        if series.is_empty() {
            return Err("no price files".into());
        }
        if let Some(days) = cfg.days {
            repeat_series(&mut series, days * 1440);
        }
        let start = series.iter().map(|s| s.start()).min().unwrap_or(0);
        let end = series.iter().map(|s| s.end()).max().unwrap_or(0);
        let boot = Bootstrap::new(start, cfg.insurance_fee_share).await.map_err(|e| e.to_string())?;
        boot.chain.set_slot_per_send(false);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        // every key from the seed: the bank lists accounts by address, so the keeper's order and
        // with it the whole run are the same every time
        let key = |rng: &mut ChaCha8Rng| Keypair::new_from_array(rng.gen());
        let oracles: Vec<Pubkey> = series.iter().map(|_| key(&mut rng).pubkey()).collect();
        let mut sim_oracles = Vec::new();
        // first prices: the first bar of each series, published at the start
        for (i, s) in series.iter().enumerate() {
            let pull = i % 2 == 1;
            let feed = [i as u8 + 1; 32];
            sim_oracles.push(if pull {
                OracleParams { kind: 2, key: oracles[i], feed_id: feed, weight: 1 }
            } else {
                OracleParams { kind: 1, key: oracles[i], feed_id: [0; 32], weight: 1 }
            });
            let b = &s.bars[0];
            write_oracle(&boot.chain, oracles[i], pull, feed, b.close, start);
        }
        let first: Vec<u64> = series.iter().map(|s| s.bars[0].close.0).collect();
        let mut sorted = first.clone();
        sorted.sort_unstable();
        let peg = Price(sorted[sorted.len() / 2]);
        let params = sim_market_params(sim_oracles.clone(), cfg);
        boot.create_market(0, params, cfg.depth.0 as u128, peg).await.map_err(|e| e.to_string())?;

        if cfg.insurance.0 > 0 {
            let funder = boot.user_with(key(&mut rng), cfg.insurance.0 as u64, 0).await.map_err(|e| e.to_string())?;
            boot.chain
                .send(
                    &[ix::deposit_insurance(funder.key(), funder.token, 0, cfg.insurance.0 as u64)],
                    &[&funder.kp],
                    &SendOptions::default(),
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let arb = if cfg.arbitrageur {
            let user = boot
                .user_with(key(&mut rng), 40_000_000 * USDC as u64, 20_000_000 * USDC as u64)
                .await
                .map_err(|e| e.to_string())?;
            Some(Trader { user, strategy: Strategy::Arb, orders: Default::default() })
        } else {
            None
        };
        let mut traders = Vec::new();
        for i in 0..cfg.traders {
            let deposit = rng.gen_range(2_000..=20_000) * USDC;
            let strategy = population(i, cfg.high_leverage, &mut rng);
            let orders = habits(i, &strategy, &mut rng);
            let user =
                boot.user_with(key(&mut rng), deposit as u64 * 2, deposit as u64).await.map_err(|e| e.to_string())?;
            traders.push(Trader { user, strategy, orders });
        }
        // the keeper takes liquidated positions over, so it carries collateral of its own
        let keeper_user = boot
            .user_with(key(&mut rng), 5_000_000 * USDC as u64, 5_000_000 * USDC as u64)
            .await
            .map_err(|e| e.to_string())?;
        boot.chain.fund(&keeper_user.key(), 100_000_000_000).await.map_err(|e| e.to_string())?;
        let keeper = Keeper::new(boot.chain.clone(), keeper_user.kp, KeeperConfig::default())
            .await
            .map_err(|e| e.to_string())?;
        let collateral = match &cfg.collateral {
            None => None,
            Some((pairs, n)) => {
                let pairs: Vec<(Series, Series)> = pairs
                    .iter()
                    .map(|(a, b)| Ok::<_, String>((Series::load(a)?, Series::load(b)?)))
                    .collect::<Result<_, _>>()?;
                let mut crng = super::collateral::rng(cfg.seed);
                let usdc_oracles: Vec<Pubkey> = pairs.iter().map(|_| key(&mut crng).pubkey()).collect();
                let k = pairs.len();
                let mut usdc = super::collateral::UsdcFeed { pairs, oracles: usdc_oracles, last: vec![0; k] };
                let traders = super::collateral::setup(&boot, &sim_oracles, &mut usdc, start, *n, &mut crng).await?;
                Some(super::collateral::CollateralRun { traders, usdc, summary: Default::default(), usdc_path: vec![] })
            }
        };
        let n = series.len();
        let sim = Sim {
            boot,
            keeper,
            traders,
            arb,
            series,
            oracles,
            last_publish: vec![start; n],
            rng,
            history: Vec::new(),
            summary: SimSummary::default(),
            collateral,
        };
        Ok((sim, start, end))
    }

    /// Puts each venue's latest closed bar into its oracle account (unless the feeds are dark);
    /// returns the venues' latest prices.
    pub fn feed(&mut self, t: i64, publish: bool) -> Vec<Option<f64>> {
        let mut out = Vec::with_capacity(self.series.len());
        for (i, s) in self.series.iter().enumerate() {
            match s.latest(t) {
                Some(b) => {
                    if publish && b.publish_time() != self.last_publish[i] {
                        self.last_publish[i] = b.publish_time();
                        write_oracle(
                            &self.boot.chain,
                            self.oracles[i],
                            i % 2 == 1,
                            [i as u8 + 1; 32],
                            b.close,
                            b.publish_time(),
                        );
                    }
                    out.push(Some(b.close.0 as f64 / 1e6));
                }
                None => out.push(None),
            }
        }
        out
    }
}

/// Trader `i`'s strategy. Normal mix: a third trend followers (2-50x), a sixth mean reverters,
/// a third noise traders, a sixth degens at the maximum leverage. High leverage: trend followers
/// at 25-50x and degens make up two thirds.
fn population(i: usize, high: bool, rng: &mut ChaCha8Rng) -> Strategy {
    let trend = |rng: &mut ChaCha8Rng, levs: &[i64]| {
        let fast = rng.gen_range(10..=60);
        Strategy::Trend { fast, slow: fast * rng.gen_range(3..=8), leverage: levs[rng.gen_range(0..levs.len())] }
    };
    if high {
        return match i % 6 {
            0 | 1 => trend(rng, &[25, 40, 50]),
            2 | 3 => Strategy::Degen { take_profit_bp: rng.gen_range(100..=400) },
            4 => Strategy::MeanRevert {
                window: rng.gen_range(30..=240),
                threshold_bp: rng.gen_range(30..=150),
                leverage: rng.gen_range(10..=25),
            },
            _ => Strategy::Noise { leverage: rng.gen_range(5..=20) },
        };
    }
    match i % 6 {
        5 => Strategy::Degen { take_profit_bp: rng.gen_range(100..=400) },
        0 | 1 => trend(rng, &[2, 3, 5, 10, 20, 25, 50]),
        2 => Strategy::MeanRevert {
            window: rng.gen_range(30..=240),
            threshold_bp: rng.gen_range(30..=150),
            leverage: rng.gen_range(2..=10),
        },
        _ => Strategy::Noise { leverage: rng.gen_range(1..=5) },
    }
}

/// Trader `i`'s use of resting orders: every third trader protects each position with a stop-loss
/// 40-70% of the way to its liquidation price and a take-profit 1-3 times that distance the other
/// way; every other noise trader keeps a resting limit 0.2-0.6% from the index.
fn habits(i: usize, s: &Strategy, rng: &mut ChaCha8Rng) -> super::orders::OrderHabits {
    super::orders::OrderHabits {
        protect: i.is_multiple_of(3).then(|| (rng.gen_range(40..=70), rng.gen_range(100..=300))),
        quote_bp: (matches!(s, Strategy::Noise { .. }) && i % 2 == 1).then(|| rng.gen_range(20..=60)),
    }
}

pub(super) fn write_oracle(chain: &BankChain, key: Pubkey, pull: bool, feed: [u8; 32], price: Price, publish: i64) {
    let conf = Price(price.0 / 2_000); // 0.05%
    if pull {
        chain.set_account(
            key,
            oracle_data::PYTH_RECEIVER_PROGRAM,
            oracle_data::pull_account(feed, price, conf, publish, true),
        );
    } else {
        chain.set_account(
            key,
            oracle_data::PYTH_LEGACY_PROGRAM,
            oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, price, conf, publish),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_data_continues_the_price_path() {
        let s = Series::parse(
            "x_1m_",
            "timestamp_unix,datetime_utc,open,high,low,close,volume_base\n0,a,1,1,1,100,1\n60,b,1,1,1,110,1\n",
        )
        .unwrap();
        let mut v = vec![s];
        repeat_series(&mut v, 5);
        let closes: Vec<u64> = v[0].bars.iter().map(|b| b.close.0 / 1_000_000).collect();
        let times: Vec<i64> = v[0].bars.iter().map(|b| b.open_time).collect();
        // span 120 s; ratio 1.1 per repetition; 5 minutes need 3 repetitions
        assert_eq!(closes, vec![100, 110, 110, 121, 121, 133]);
        assert_eq!(times, vec![0, 60, 120, 180, 240, 300]);
    }
}
