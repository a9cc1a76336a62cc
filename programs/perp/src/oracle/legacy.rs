//! Legacy Pyth v2 push price accounts, read at fixed offsets (little-endian):
//! magic u32 @0 (0xa1b2c3d4), version u32 @4 (2), account type u32 @8 (3 = price),
//! exponent i32 @20, EMA price i64 @48 (`ema_price.val`, Pyth's moving average), timestamp i64 @96
//! (unix seconds of the aggregate),
//! aggregate {price i64 @208, conf u64 @216, status u32 @224 (1 = trading)}.
//! These offsets are the same in the Solana (3312-byte) and Pythnet (12576-byte) layouts.

pub const MAGIC: u32 = 0xa1b2c3d4;
pub const VERSION_2: u32 = 2;
pub const ACCOUNT_TYPE_PRICE: u32 = 3;
pub const STATUS_TRADING: u32 = 1;
const MIN_LEN: usize = 240;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegacyPrice {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
    pub status: u32,
    /// Pyth's exponential moving average of the price (same exponent).
    pub ema: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyError {
    TooShort,
    BadMagic,
    BadVersion,
    NotAPriceAccount,
}

impl core::fmt::Display for LegacyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            LegacyError::TooShort => "account data too short for a Pyth price account",
            LegacyError::BadMagic => "not a Pyth account (bad magic)",
            LegacyError::BadVersion => "unsupported Pyth account version",
            LegacyError::NotAPriceAccount => "Pyth account is not a price account (e.g. a product account)",
        })
    }
}

fn u32_at(d: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]])
}

fn i64_at(d: &[u8], o: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[o..o + 8]);
    i64::from_le_bytes(b)
}

pub fn parse(data: &[u8]) -> Result<LegacyPrice, LegacyError> {
    if data.len() < MIN_LEN {
        return Err(LegacyError::TooShort);
    }
    if u32_at(data, 0) != MAGIC {
        return Err(LegacyError::BadMagic);
    }
    if u32_at(data, 4) != VERSION_2 {
        return Err(LegacyError::BadVersion);
    }
    if u32_at(data, 8) != ACCOUNT_TYPE_PRICE {
        return Err(LegacyError::NotAPriceAccount);
    }
    Ok(LegacyPrice {
        expo: u32_at(data, 20) as i32,
        publish_time: i64_at(data, 96),
        price: i64_at(data, 208),
        conf: i64_at(data, 216) as u64,
        status: u32_at(data, 224),
        ema: i64_at(data, 48),
    })
}

/// Writes the fields this parser reads into a price account buffer (used by tests and the
/// simulator to move a real account's price, keeping every other byte).
/// The moving average is set to the price (see [`write_ema`] for another one).
pub fn write_price(data: &mut [u8], price: i64, conf: u64, publish_time: i64) {
    write_ema(data, price);
    data[96..104].copy_from_slice(&publish_time.to_le_bytes());
    data[208..216].copy_from_slice(&price.to_le_bytes());
    data[216..224].copy_from_slice(&conf.to_le_bytes());
    data[224..228].copy_from_slice(&STATUS_TRADING.to_le_bytes());
}

/// Writes the moving-average price (`ema_price.val`, @48) into a price account buffer.
pub fn write_ema(data: &mut [u8], ema: i64) {
    data[48..56].copy_from_slice(&ema.to_le_bytes());
}
