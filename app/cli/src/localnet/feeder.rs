//! The local cluster's oracle feeder: replays the bundled exchange price files (`data/prices`)
//! into the test oracle's accounts, each oracle from its own venue as the simulator does, at
//! `speed` times real time, publishing every `interval` with the cluster's clock as publish time
//! so the index stays fresh while it moves.

use super::oracles::{self, Feed};
use super::setup::failed;
use crate::output::CliError;
use perp_client::chain::{Chain, SendOptions};
use perp_client::data::{repo_root, Series, DEFAULT_FILES};
use perp_client::rpc::RpcChain;
use perp_client::Instruction;
use perp_core::Price;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::time::{Duration, Instant};

pub struct Replay {
    series: Vec<Series>,
    start: i64,
    end: i64,
    speed: f64,
}

impl Replay {
    /// The bundled series, replayed from their common start at `speed` x real time.
    pub fn bundled(speed: f64) -> Result<Replay, CliError> {
        if !(speed > 0.0 && speed <= 86_400.0) {
            return Err(CliError::input(format!("--speed {speed}: use a factor in (0, 86400]")));
        }
        let root = repo_root();
        let series: Vec<Series> = DEFAULT_FILES
            .iter()
            .map(|f| Series::load(&root.join(f)))
            .collect::<Result<_, _>>()
            .map_err(|e| CliError::input(format!("price data: {e}")))?;
        let start = series.iter().map(Series::start).max().unwrap_or(0) + 300;
        let end = series.iter().map(Series::end).min().unwrap_or(0);
        Ok(Replay { series, start, end, speed })
    }

    /// Data time after `elapsed` of wall time (wrapping around at the end of the data).
    pub fn data_time(&self, elapsed: Duration) -> i64 {
        let span = (self.end - self.start).max(1);
        self.start + ((elapsed.as_secs_f64() * self.speed) as i64) % span
    }

    /// Price and confidence (half the bar's range, at least 0.01 % of the price) of feed `i` at data time `t`.
    pub fn quote(&self, i: usize, t: i64) -> (Price, Price) {
        let s = &self.series[i % self.series.len()];
        let b = s.latest(t).unwrap_or(&s.bars[0]);
        let conf = ((b.high.0.saturating_sub(b.low.0)) / 2).max(b.close.0 / 10_000);
        (b.close, Price(conf))
    }

    /// The first price of the replay (feed 0).
    pub fn first_price(&self) -> Price {
        self.quote(0, self.start).0
    }
}

/// Writes each feed's `(price, conf)` at the cluster's clock, one transaction per market.
pub async fn push(
    c: &RpcChain,
    authority: &Keypair,
    feeds: &[Feed],
    quotes: &[(Price, Price)],
) -> Result<i64, CliError> {
    let now = c.unix_time().await.map_err(failed)?;
    let mut markets: Vec<u16> = feeds.iter().map(|f| f.market).collect();
    markets.dedup();
    for m in markets {
        let ixs: Vec<Instruction> = feeds
            .iter()
            .zip(quotes)
            .filter(|(f, _)| f.market == m)
            .map(|(f, (p, conf))| oracles::set_price_ix(authority.pubkey(), f, *p, *conf, now))
            .collect();
        c.send(&ixs, &[authority], &SendOptions::default()).await.map_err(failed)?;
    }
    Ok(now)
}

/// The price and confidence an oracle account holds now (a legacy account of the test oracle).
pub async fn held_quote(c: &RpcChain, f: &Feed) -> Option<(Price, Price)> {
    let a = c.account(&f.key).await.ok()??;
    let p = perp::oracle::legacy::parse(&a.data).ok()?;
    let price = perp_core::units::price_from_mantissa(p.price, p.expo, perp_core::Round::Down).ok()?;
    let conf = perp_core::units::scale_mantissa(p.conf, p.expo, perp_core::Round::Up).ok()?;
    Some((price, Price(conf)))
}

/// Replays until `stop` resolves; a failed push is logged and retried at the next interval.
pub async fn run(
    c: &RpcChain,
    authority: &Keypair,
    feeds: &[Feed],
    replay: &Replay,
    interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let t0 = Instant::now();
    let mut last_log = Instant::now() - Duration::from_secs(3600);
    let mut failures = 0u64;
    tokio::pin!(stop);
    loop {
        let t = replay.data_time(t0.elapsed());
        let mut quotes: Vec<(Price, Price)> = Vec::with_capacity(feeds.len());
        for (i, f) in feeds.iter().enumerate() {
            quotes.push(if f.market == oracles::COLLATERAL_FEED {
                // a collateral's own oracle keeps its last price, republished fresh
                held_quote(c, f).await.unwrap_or((f.initial.unwrap_or(Price(1)), Price(1)))
            } else {
                replay.quote(i, t)
            });
        }
        match push(c, authority, feeds, &quotes).await {
            Ok(now) => {
                if last_log.elapsed() >= Duration::from_secs(30) {
                    let prices: Vec<String> = quotes.iter().map(|(p, _)| p.to_string()).collect();
                    eprintln!("feeder: data time {t}, cluster time {now}, prices {}", prices.join(" "));
                    last_log = Instant::now();
                }
            }
            Err(e) => {
                failures += 1;
                eprintln!("feeder: push failed ({failures} so far): {}", e.message());
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
