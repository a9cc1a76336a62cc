//! Candles of the mark and the index per market, at 1 minute and rolled up to 5 minutes, 1 hour
//! and 1 day as they are written (each sample updates its bucket at every resolution).
//!
//! A bucket's open is the sample with the lowest market sequence number in it, its close the one
//! with the highest: the market's event numbering orders its samples whatever order transactions
//! are ingested in. Samples: the mark from `TradeExecuted`, `FundingUpdated`, `LiquidationExecuted`;
//! the index from `TradeExecuted`, `FundingSampled`, `LiquidationExecuted`, `Repegged`,
//! `OrderTriggered`. Volume (absolute base and quote of `TradeExecuted`) is on the mark candle.

use crate::db::{Db, DbError};
use std::collections::BTreeMap;

/// Resolutions in seconds, and their names in the API.
pub const RESOLUTIONS: &[(i64, &str)] = &[(60, "1m"), (300, "5m"), (3_600, "1h"), (86_400, "1d")];

pub fn resolution(name: &str) -> Option<i64> {
    RESOLUTIONS.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
}

pub enum Sample {
    Mark(u64),
    Index(u64),
}

/// `(market, kind, resolution, bucket start)`.
pub type CandleKey = (u16, &'static str, i64, i64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candle {
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub open_seq: i64,
    pub close_seq: i64,
    pub samples: i64,
    pub volume_base: i64,
    pub volume_quote: i64,
}

impl Candle {
    fn new(price: i64, seq: i64, vol: (i64, i64)) -> Candle {
        Candle {
            open: price,
            high: price,
            low: price,
            close: price,
            open_seq: seq,
            close_seq: seq,
            samples: 1,
            volume_base: vol.0,
            volume_quote: vol.1,
        }
    }

    /// Merges `o` into this candle (the database's upsert does the same, in SQL).
    pub fn merge(&mut self, o: &Candle) {
        if o.open_seq < self.open_seq {
            self.open = o.open;
            self.open_seq = o.open_seq;
        }
        if o.close_seq > self.close_seq {
            self.close = o.close;
            self.close_seq = o.close_seq;
        }
        self.high = self.high.max(o.high);
        self.low = self.low.min(o.low);
        self.samples = self.samples.saturating_add(o.samples);
        self.volume_base = self.volume_base.saturating_add(o.volume_base);
        self.volume_quote = self.volume_quote.saturating_add(o.volume_quote);
    }
}

/// A batch's candles, merged in memory before one upsert per bucket.
#[derive(Default)]
pub struct Candles(pub BTreeMap<CandleKey, Candle>);

impl Candles {
    /// A price sample at unix time `time` with the market's sequence number `seq`; a zero
    /// price (no index yet) is no sample.
    pub fn add(&mut self, market: u16, time: i64, seq: u64, s: Sample, vol: (u64, u64)) {
        let (kind, price) = match s {
            Sample::Mark(p) => ("mark", p),
            Sample::Index(p) => ("index", p),
        };
        if price == 0 {
            return;
        }
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let c = Candle::new(clamp(price), clamp(seq), (clamp(vol.0), clamp(vol.1)));
        for (res, _) in RESOLUTIONS {
            let bucket = time.div_euclid(*res) * res;
            match self.0.get_mut(&(market, kind, *res, bucket)) {
                Some(have) => have.merge(&c),
                None => {
                    self.0.insert((market, kind, *res, bucket), c.clone());
                }
            }
        }
    }

    /// Upserts every bucket; returns the 1-minute keys touched.
    pub async fn write(&self, db: &Db, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<Vec<CandleKey>, DbError> {
        const COLS: usize = 13;
        let entries: Vec<_> = self.0.iter().collect();
        for chunk in entries.chunks(900 / COLS) {
            let mut sql = String::from(
                "INSERT INTO candles (market_index, kind, resolution, bucket, open, high, low, close, open_seq, close_seq, samples, volume_base, volume_quote) VALUES ",
            );
            for (ri, _) in chunk.iter().enumerate() {
                if ri > 0 {
                    sql.push(',');
                }
                let ph: Vec<String> = (1..=COLS).map(|c| format!("${}", ri * COLS + c)).collect();
                sql.push_str(&format!("({})", ph.join(",")));
            }
            sql.push_str(
                " ON CONFLICT (market_index, kind, resolution, bucket) DO UPDATE SET
                  open = CASE WHEN excluded.open_seq < candles.open_seq THEN excluded.open ELSE candles.open END,
                  open_seq = CASE WHEN excluded.open_seq < candles.open_seq THEN excluded.open_seq ELSE candles.open_seq END,
                  close = CASE WHEN excluded.close_seq > candles.close_seq THEN excluded.close ELSE candles.close END,
                  close_seq = CASE WHEN excluded.close_seq > candles.close_seq THEN excluded.close_seq ELSE candles.close_seq END,
                  high = CASE WHEN excluded.high > candles.high THEN excluded.high ELSE candles.high END,
                  low = CASE WHEN excluded.low < candles.low THEN excluded.low ELSE candles.low END,
                  samples = candles.samples + excluded.samples,
                  volume_base = CASE WHEN candles.volume_base > 9223372036854775807 - excluded.volume_base
                    THEN 9223372036854775807 ELSE candles.volume_base + excluded.volume_base END,
                  volume_quote = CASE WHEN candles.volume_quote > 9223372036854775807 - excluded.volume_quote
                    THEN 9223372036854775807 ELSE candles.volume_quote + excluded.volume_quote END",
            );
            let sql = db.sql(&sql);
            let mut q = sqlx::query(&sql);
            for ((m, kind, res, bucket), c) in chunk {
                q = q
                    .bind(*m as i64)
                    .bind(*kind)
                    .bind(*res)
                    .bind(*bucket)
                    .bind(c.open)
                    .bind(c.high)
                    .bind(c.low)
                    .bind(c.close)
                    .bind(c.open_seq)
                    .bind(c.close_seq)
                    .bind(c.samples)
                    .bind(c.volume_base)
                    .bind(c.volume_quote);
            }
            q.execute(&mut **tx).await.map_err(|e| DbError(format!("writing candles: {e}")))?;
        }
        Ok(self.0.keys().filter(|k| k.2 == 60).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: samples at 10:00:05 (seq 3, 100), 10:00:50 (seq 1, 90: earlier in the
    /// market's order though added later), 10:01:10 (seq 4, 120), 10:04:59 (seq 5, 80),
    /// 10:05:00 (seq 6, 110), volumes 1/2/3/4/5 base.
    #[test]
    fn roll_ups_match_the_hand_computed_candles() {
        let t0 = 1_764_583_200; // 2025-12-01 10:00:00 UTC
        assert_eq!(t0 % 3_600, 0);
        let mut c = Candles::default();
        c.add(1, t0 + 5, 3, Sample::Mark(100), (1, 100));
        c.add(1, t0 + 50, 1, Sample::Mark(90), (2, 180));
        c.add(1, t0 + 70, 4, Sample::Mark(120), (3, 360));
        c.add(1, t0 + 299, 5, Sample::Mark(80), (4, 320));
        c.add(1, t0 + 300, 6, Sample::Mark(110), (5, 550));
        c.add(1, t0 + 300, 6, Sample::Index(0), (0, 0)); // no index: no sample
        let get = |res: i64, bucket: i64| c.0.get(&(1, "mark", res, bucket)).cloned().unwrap();
        // 1 m: 10:00 holds seq 3 and 1 -> open 90 (seq 1), close 100 (seq 3)
        let m0 = get(60, t0);
        assert_eq!((m0.open, m0.high, m0.low, m0.close, m0.samples, m0.volume_base), (90, 100, 90, 100, 2, 3));
        assert_eq!(get(60, t0 + 60).close, 120);
        assert_eq!(get(60, t0 + 240).open, 80);
        // 5 m: 10:00-10:05 holds seq 1, 3, 4, 5 -> open 90, high 120, low 80, close 80
        let f0 = get(300, t0);
        assert_eq!(
            (f0.open, f0.high, f0.low, f0.close, f0.samples, f0.volume_base, f0.volume_quote),
            (90, 120, 80, 80, 4, 10, 960)
        );
        assert_eq!((get(300, t0 + 300).open, get(300, t0 + 300).samples), (110, 1));
        // 1 h and 1 d: everything; open seq 1 (90), close seq 6 (110)
        let h = get(3_600, t0);
        assert_eq!((h.open, h.high, h.low, h.close, h.samples, h.volume_base), (90, 120, 80, 110, 5, 15));
        let day = t0 - t0 % 86_400;
        assert_eq!(get(86_400, day), h);
        assert!(!c.0.keys().any(|k| k.1 == "index"));
        assert_eq!(resolution("1h"), Some(3_600));
        assert_eq!(resolution("2h"), None);
    }

    #[test]
    fn merging_in_any_order_gives_the_same_candle() {
        let parts = [
            Candle::new(5, 7, (1, 1)),
            Candle::new(9, 2, (1, 1)),
            Candle::new(3, 4, (1, 1)),
            Candle::new(6, 9, (1, 1)),
        ];
        let mut orders = vec![vec![0, 1, 2, 3], vec![3, 2, 1, 0], vec![1, 3, 0, 2], vec![2, 0, 3, 1]];
        let mut results = orders.drain(..).map(|o: Vec<usize>| {
            let mut c = parts[o[0]].clone();
            for j in &o[1..] {
                c.merge(&parts[*j]);
            }
            c
        });
        let first = results.next().unwrap();
        assert_eq!((first.open, first.close, first.high, first.low, first.samples), (9, 6, 9, 3, 4));
        assert!(results.all(|c| c == first));
    }
}
