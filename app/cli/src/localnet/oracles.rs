//! The local cluster's oracle accounts: the test-oracle program's PDAs named in the exchange
//! config (`migrations/localnet.json`), and the transactions that write their prices.
//!
//! A config oracle of a local exchange carries `seed` besides `key`: the feed id (hex) for a pull
//! oracle, a short text for a legacy one. `key` must be the test oracle's PDA of the localnet
//! authority and that seed; anything else is refused before a transaction is sent.

use crate::output::CliError;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use perp::state::oracle_kind;
use perp_client::Pubkey;
use perp_core::Price;
use serde_json::Value;

/// Exponent of every local oracle account (mantissa = price x 10^8).
pub const EXPO: i32 = -8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// The market whose replayed prices it carries ([`COLLATERAL_FEED`] for a listed collateral's
    /// own oracle, which holds the price `perp localnet price --collateral` last wrote).
    pub market: u16,
    pub kind: u8,
    pub key: Pubkey,
    pub seed: [u8; 32],
    /// The listed collateral it prices (1, 2, ...; 0 = a market's oracle).
    pub collateral: u16,
    /// Its first price (collateral feeds: the entry's `localnet_price`).
    pub initial: Option<Price>,
}

/// `Feed::market` of a collateral's own oracle.
pub const COLLATERAL_FEED: u16 = u16::MAX;

fn bad(m: String) -> CliError {
    CliError::input(m)
}

/// The 32-byte seed of a config oracle: 64 hex digits, or text of at most 32 bytes (zero-padded).
pub fn seed_of(s: &str) -> Result<[u8; 32], String> {
    let h = s.trim_start_matches("0x");
    let mut out = [0u8; 32];
    if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        return Ok(out);
    }
    if s.is_empty() || s.len() > 32 {
        return Err(format!("seed '{s}': 64 hex digits or 1-32 bytes of text"));
    }
    out[..s.len()].copy_from_slice(s.as_bytes());
    Ok(out)
}

/// Every oracle of the config's markets, checked to be the test oracle's accounts of `authority`.
pub fn feeds(config: &Value, authority: &Pubkey) -> Result<Vec<Feed>, CliError> {
    let markets = config.get("markets").and_then(Value::as_array).ok_or_else(|| bad("config: no markets".into()))?;
    let test_oracle = perp_test_oracle::ID.to_string();
    for k in ["pyth_legacy_program", "pyth_receiver_program"] {
        if config.get(k).and_then(Value::as_str) != Some(test_oracle.as_str()) {
            return Err(bad(format!("config: {k} must be the test oracle program {test_oracle} on a local cluster")));
        }
    }
    let mut out = Vec::new();
    for (m, market) in markets.iter().enumerate() {
        let oracles = market.get("oracles").and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, o) in oracles.iter().enumerate() {
            let ctx = format!("market {m} oracle {i}");
            let kind = match o.get("kind").and_then(Value::as_str) {
                Some("legacy") => oracle_kind::PYTH_LEGACY,
                Some("pull") => oracle_kind::PYTH_PULL,
                _ => return Err(bad(format!("{ctx}: kind must be legacy or pull"))),
            };
            let seed_text =
                match (kind, o.get("seed").and_then(Value::as_str), o.get("feed_id").and_then(Value::as_str)) {
                    (_, Some(s), _) => s,
                    (oracle_kind::PYTH_PULL, None, Some(f)) => f,
                    _ => return Err(bad(format!("{ctx}: a local oracle needs \"seed\""))),
                };
            let seed = seed_of(seed_text).map_err(|e| bad(format!("{ctx}: {e}")))?;
            let want = perp_test_oracle::oracle_address(authority, &seed);
            let key: Pubkey = o
                .get("key")
                .and_then(Value::as_str)
                .and_then(|k| k.parse().ok())
                .ok_or_else(|| bad(format!("{ctx}: \"key\" must be the oracle's address ({want})")))?;
            if key != want {
                return Err(bad(format!(
                    "{ctx}: key {key} is not the test oracle account {want} of authority {authority}"
                )));
            }
            out.push(Feed { market: m as u16, kind, key, seed, collateral: 0, initial: None });
        }
    }
    // listed collateral: an oracle a market already has (wBTC on the BTC feed) moves with the
    // market; its own oracles hold the price last written
    let entries = config.get("collateral").and_then(Value::as_array).cloned().unwrap_or_default();
    for (c, entry) in entries.iter().enumerate() {
        let ctx = format!("collateral {c}");
        let initial = match entry.get("localnet_price").and_then(Value::as_str) {
            Some(p) => Some(Price::parse(p).map_err(|e| bad(format!("{ctx}: localnet_price: {e}")))?),
            None => None,
        };
        for (i, o) in entry.get("oracles").and_then(Value::as_array).cloned().unwrap_or_default().iter().enumerate() {
            let octx = format!("{ctx} oracle {i}");
            let key: Pubkey = o
                .get("key")
                .and_then(Value::as_str)
                .and_then(|k| k.parse().ok())
                .ok_or_else(|| bad(format!("{octx}: \"key\" must be a public key")))?;
            if out.iter().any(|f| f.key == key) {
                continue;
            }
            if o.get("kind").and_then(Value::as_str) != Some("legacy") {
                return Err(bad(format!("{octx}: a collateral's own local oracle must be legacy")));
            }
            let seed_text =
                o.get("seed").and_then(Value::as_str).ok_or_else(|| bad(format!("{octx}: needs \"seed\"")))?;
            let seed = seed_of(seed_text).map_err(|e| bad(format!("{octx}: {e}")))?;
            let want = perp_test_oracle::oracle_address(authority, &seed);
            if key != want {
                return Err(bad(format!(
                    "{octx}: key {key} is not the test oracle account {want} of authority {authority}"
                )));
            }
            if initial.is_none() {
                return Err(bad(format!("{ctx}: an oracle of its own needs \"localnet_price\"")));
            }
            out.push(Feed {
                market: COLLATERAL_FEED,
                kind: oracle_kind::PYTH_LEGACY,
                key,
                seed,
                collateral: c as u16 + 1,
                initial,
            });
        }
    }
    Ok(out)
}

pub fn create_ix(authority: Pubkey, f: &Feed) -> Instruction {
    let kind =
        if f.kind == oracle_kind::PYTH_LEGACY { perp_test_oracle::kind::LEGACY } else { perp_test_oracle::kind::PULL };
    Instruction {
        program_id: perp_test_oracle::ID,
        accounts: perp_test_oracle::accounts::Create {
            authority,
            oracle: f.key,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: perp_test_oracle::instruction::Create { kind, seed: f.seed, expo: EXPO }.data(),
    }
}

/// Mantissa at [`EXPO`] of a price in 10^-6 USDC.
pub fn mantissa(p: Price) -> i64 {
    (p.0 as i128 * 100).min(i64::MAX as i128) as i64
}

pub fn set_price_ix(authority: Pubkey, f: &Feed, price: Price, conf: Price, publish_time: i64) -> Instruction {
    Instruction {
        program_id: perp_test_oracle::ID,
        accounts: perp_test_oracle::accounts::SetPrice { authority, oracle: f.key }.to_account_metas(None),
        data: perp_test_oracle::instruction::SetPrice {
            _seed: f.seed,
            price: mantissa(price),
            conf: mantissa(conf) as u64,
            publish_time,
            signatures: 0,
        }
        .data(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds() {
        assert_eq!(&seed_of("legacy BTC").unwrap()[..10], b"legacy BTC");
        assert_eq!(seed_of(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert!(seed_of("").is_err());
        assert!(seed_of(&"x".repeat(33)).is_err());
        assert_eq!(mantissa(Price(20_000_123_456)), 2_000_012_345_600);
    }

    #[test]
    fn the_committed_localnet_config_names_the_test_oracle_accounts() {
        let root = perp_client::data::repo_root();
        let cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("migrations/localnet.json")).unwrap()).unwrap();
        let auth = solana_signer::Signer::pubkey(
            &solana_keypair::read_keypair_file(root.join("migrations/localnet/authority.json")).unwrap(),
        );
        let f = feeds(&cfg, &auth).unwrap();
        assert!(f.len() >= 2 && f.iter().any(|f| f.kind == oracle_kind::PYTH_LEGACY));
        // and the exchange side accepts it
        crate::admin::market_from_json(&cfg["markets"][0], "market 0").unwrap();
        // SOL has an oracle of its own; wBTC shares the BTC market's
        let sol: Vec<&Feed> = f.iter().filter(|f| f.collateral == 1).collect();
        assert_eq!(sol.len(), 1);
        assert_eq!(sol[0].market, COLLATERAL_FEED);
        assert!(f.iter().all(|f| f.collateral != 2));
        for (i, e) in cfg["collateral"].as_array().unwrap().iter().enumerate() {
            let (_, decimals, p) = crate::collateral::params_from_json(e, &format!("collateral {i}")).unwrap();
            p.validate().unwrap();
            assert!(decimals == 9 || decimals == 8);
        }
        // another authority's accounts are refused
        let e = feeds(&cfg, &Pubkey::new_unique()).unwrap_err();
        assert!(e.message().contains("is not the test oracle account"), "{}", e.message());
    }
}
