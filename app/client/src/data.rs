//! Exchange price series (the OHLCV CSV files under `data/prices`), read into bars that can be
//! asked "what was the last published price at time t".

use perp_core::Price;
use std::path::Path;

/// One bar: open time, length, close and volume (base units, 10^-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    pub open_time: i64,
    pub seconds: i64,
    pub close: Price,
    pub high: Price,
    pub low: Price,
    pub volume: u64,
}

impl Bar {
    /// A bar's close is known when the bar ends.
    pub fn publish_time(&self) -> i64 {
        self.open_time + self.seconds
    }
}

/// A venue's series, sorted by time.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub bars: Vec<Bar>,
}

/// Parses a non-negative decimal (plain or scientific, e.g. `9e-05`) into units of
/// 10^-`decimals`, dropping digits beyond that precision (rounding down).
pub fn parse_scaled(s: &str, decimals: i32) -> Result<u64, String> {
    let s = s.trim();
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| format!("bad number '{s}'"))?),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(format!("bad number '{s}'"));
    }
    let digits = format!("{int}{frac}");
    // value = digits x 10^(exp - len(frac)); in our units x 10^decimals
    let shift = exp - frac.len() as i32 + decimals;
    let mut v: u128 = digits.parse().map_err(|_| format!("bad number '{s}'"))?;
    if shift >= 0 {
        v = v.checked_mul(10u128.pow(shift as u32)).ok_or_else(|| format!("number too large '{s}'"))?;
    } else {
        v /= 10u128.pow((-shift).min(38) as u32);
    }
    u64::try_from(v).map_err(|_| format!("number too large '{s}'"))
}

fn price(s: &str) -> Result<Price, String> {
    Ok(Price(parse_scaled(s, 6)?))
}

fn volume(s: &str) -> Result<u64, String> {
    parse_scaled(s, 9)
}

impl Series {
    /// Reads a CSV with header `timestamp_unix,datetime_utc,open,high,low,close,volume_base[,...]`.
    /// The bar length is inferred from the file name (`_1m_`, `_5m_`) or the smallest step.
    pub fn load(path: &Path) -> Result<Series, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("series").to_string();
        Series::parse(&name, &text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(name: &str, text: &str) -> Result<Series, String> {
        let mut bars = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if i == 0 || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 7 {
                return Err(format!("line {}: expected at least 7 columns", i + 1));
            }
            let open_time: i64 = f[0].trim().parse().map_err(|_| format!("line {}: bad timestamp", i + 1))?;
            bars.push(Bar {
                open_time,
                seconds: 0,
                high: price(f[3]).map_err(|e| format!("line {}: {e}", i + 1))?,
                low: price(f[4]).map_err(|e| format!("line {}: {e}", i + 1))?,
                close: price(f[5]).map_err(|e| format!("line {}: {e}", i + 1))?,
                volume: volume(f[6]).map_err(|e| format!("line {}: {e}", i + 1))?,
            });
        }
        if bars.is_empty() {
            return Err("no rows".into());
        }
        bars.sort_by_key(|b| b.open_time);
        let seconds = if name.contains("_5m") {
            300
        } else if name.contains("_1m") {
            60
        } else {
            bars.windows(2).map(|w| w[1].open_time - w[0].open_time).filter(|d| *d > 0).min().unwrap_or(60)
        };
        for b in &mut bars {
            b.seconds = seconds;
        }
        Ok(Series { name: name.to_string(), bars })
    }

    /// The last bar published at or before `t` (its close is the venue's latest price then).
    pub fn latest(&self, t: i64) -> Option<&Bar> {
        let i = self.bars.partition_point(|b| b.publish_time() <= t);
        if i == 0 {
            None
        } else {
            Some(&self.bars[i - 1])
        }
    }

    /// The bar whose interval contains `t`.
    pub fn containing(&self, t: i64) -> Option<&Bar> {
        let i = self.bars.partition_point(|b| b.open_time <= t);
        if i == 0 {
            return None;
        }
        let b = &self.bars[i - 1];
        (t < b.open_time + b.seconds).then_some(b)
    }

    pub fn start(&self) -> i64 {
        self.bars[0].open_time
    }

    pub fn end(&self) -> i64 {
        self.bars.last().map(|b| b.publish_time()).unwrap_or(0)
    }
}

/// The default replay data, relative to the repository root.
pub const DEFAULT_FILES: [&str; 7] = [
    "data/prices/binanceus_BTCUSD_1m_2023-03-10_to_2023-03-13.csv",
    "data/prices/binanceus_BTCUSDT_1m_2023-03-10_to_2023-03-13.csv",
    "data/prices/binanceus_BTCUSDC_1m_2023-03-10_to_2023-03-13.csv",
    "data/prices/kraken_XBTUSDC_1m_2023-03-10_to_2023-03-13.csv",
    "data/prices/kraken_XBTUSD_5m_2023-03-10_to_2023-03-13.csv",
    "data/prices/kraken_XBTUSDT_5m_2023-03-10_to_2023-03-13.csv",
    "data/prices/kraken_XBTUSDC_5m_2023-03-10_to_2023-03-13.csv",
];

/// The repository root (where `data/` lives), found from this crate's location at build time.
pub fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| ".".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_lookup() {
        let s = Series::parse(
            "x_1m_",
            "timestamp_unix,datetime_utc,open,high,low,close,volume_base\n60,a,1,2,0.5,1.5,0.25\n180,b,1,2,1,3.12345678,1\n",
        )
        .unwrap();
        assert_eq!(s.bars[0].close, Price(1_500_000));
        assert_eq!(s.bars[1].close, Price(3_123_456));
        assert_eq!(s.bars[0].volume, 250_000_000);
        assert_eq!(s.latest(119), None);
        assert_eq!(s.latest(120).unwrap().open_time, 60);
        assert_eq!(s.latest(239).unwrap().open_time, 60); // the 180 bar is published at 240
        assert_eq!(s.containing(200).unwrap().open_time, 180);
        assert!(s.containing(150).is_none()); // gap
        assert_eq!(parse_scaled("9e-05", 9).unwrap(), 90_000);
        assert_eq!(parse_scaled("1.5E+3", 6).unwrap(), 1_500_000_000);
        assert!(parse_scaled("-1", 6).is_err());
    }

    #[test]
    fn real_files_load() {
        let root = repo_root();
        for f in DEFAULT_FILES {
            let s = Series::load(&root.join(f)).unwrap();
            assert!(s.bars.len() > 1000, "{f}");
        }
    }
}
