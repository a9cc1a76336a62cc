//! The test oracle's accounts read back through the perp program's own parsers and Pyth's SDK.

use anchor_lang::prelude::Pubkey;
use perp_test_oracle::layout::{self, Quote};

#[test]
fn legacy_account_reads_back_in_perp_and_in_pyth_sdk() {
    let mut d = vec![0u8; layout::LEGACY_SIZE];
    layout::legacy_init(&mut d, -8);
    let q = Quote { price: 2_000_012_345_678, conf: 1_500_000, expo: -8, publish_time: 1_700_000_123 };
    layout::legacy_write(&mut d, &q, 77).unwrap();
    let p = perp::oracle::legacy::parse(&d).expect("perp's legacy parser");
    assert_eq!((p.price, p.conf, p.expo, p.publish_time, p.status), (q.price, q.conf, -8, q.publish_time, 1));
    let acc = pyth_sdk_solana::state::load_price_account::<32, ()>(&d).expect("pyth-sdk-solana loads it");
    let agg = acc.agg;
    assert_eq!((agg.price, agg.conf, agg.pub_slot), (q.price, q.conf, 77));
    assert_eq!(acc.timestamp, q.publish_time);
    // a second write moves the first aggregate to prev_*
    let q2 = Quote { price: 1_990_000_000_000, ..q };
    layout::legacy_write(&mut d, &Quote { publish_time: q.publish_time + 1, ..q2 }, 78).unwrap();
    let acc = pyth_sdk_solana::state::load_price_account::<32, ()>(&d).unwrap();
    assert_eq!((acc.prev_price, acc.prev_slot, acc.prev_timestamp), (q.price, 77, q.publish_time));
    // a write at another exponent is refused: the mantissa would be misread
    assert!(layout::legacy_write(&mut d, &Quote { expo: -6, ..q }, 79).is_err());
}

#[test]
fn pull_account_reads_back_in_perp_full_and_partial() {
    let feed = [0xe6u8; 32];
    let auth = Pubkey::new_unique();
    for sigs in [0u8, 3] {
        let q = Quote { price: 9_876_543_210_000, conf: 12_345, expo: -8, publish_time: 1_700_000_500 };
        let mut d = vec![0u8; layout::PULL_SIZE];
        layout::pull_store(&mut d, &layout::pull_update(&auth, feed, &q, 1_700_000_499, sigs, 5)).unwrap();
        let p = perp::oracle::pull::parse(&d).expect("perp's pull parser");
        assert_eq!((p.feed_id, p.price, p.conf, p.expo, p.publish_time), (feed, q.price, q.conf, -8, q.publish_time));
        assert_eq!((p.full, p.signatures), (sigs == 0, sigs));
        let back = layout::pull_read(&d).unwrap();
        assert_eq!(back.write_authority, auth);
        assert_eq!(back.price_message.prev_publish_time, 1_700_000_499);
    }
}
