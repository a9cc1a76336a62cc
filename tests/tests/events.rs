//! Events on the SBF build: what `emit!` (a log line, what the program uses) and the
//! self-invocation `emit_cpi!` makes cost per event, with an event the size of `TradeExecuted`;
//! and every event of a trading session decoding, numbered without a gap per stream.
//!
//! ```sh
//! scripts/build-sbf && PERP_SBF=1 cargo test -p perp-tests --test events -- --include-ignored --nocapture
//! ```

use perp::instructions::OrderSide;
use perp_client::events::{events_from_logs, Event};
use perp_tests::world::*;
use perp_tests::*;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;

fn bench_ix(cpi: bool, count: u8, payer: &Keypair) -> Instruction {
    use anchor_lang::{InstructionData, ToAccountMetas};
    let authority = perp_test_oracle::emit_bench::event_authority();
    if cpi {
        let accounts = perp_test_oracle::accounts::BenchCpi {
            payer: payer.pubkey(),
            event_authority: authority,
            program: perp_test_oracle::ID,
        };
        Instruction {
            program_id: perp_test_oracle::ID,
            accounts: accounts.to_account_metas(None),
            data: perp_test_oracle::instruction::BenchEmitCpi { count }.data(),
        }
    } else {
        Instruction {
            program_id: perp_test_oracle::ID,
            accounts: vec![AccountMeta::new_readonly(payer.pubkey(), true)],
            data: perp_test_oracle::instruction::BenchEmitLog { count }.data(),
        }
    }
}

#[tokio::test]
#[ignore = "compute units exist only on the SBF build: scripts/build-sbf, then PERP_SBF=1 ... --include-ignored"]
async fn emit_log_versus_emit_cpi_compute_units() {
    let dir = perp_client::bank::sbf_dir().expect("PERP_SBF=1 (after scripts/build-sbf)");
    assert!(
        dir.join("perp_test_oracle.so").is_file(),
        "no perp_test_oracle.so in {} (scripts/build-sbf)",
        dir.display()
    );
    let mut pt = perp_client::bank::program_test();
    pt.add_program("perp_test_oracle", perp_test_oracle::ID, None);
    let mut env = Env::bare_with(pt).await;
    let payer = env.payer();
    let mut per_event = Vec::new();
    for cpi in [false, true] {
        let mut cu = Vec::new();
        for count in [0u8, 1, 8] {
            let r = env.send_with_metadata(&[bench_ix(cpi, count, &payer)], &[]).await.unwrap();
            let meta = r.metadata.expect("metadata");
            assert!(r.result.is_ok(), "{:?}", meta.log_messages);
            let lines = meta.log_messages.iter().filter(|l| l.starts_with("Program data: ")).count();
            // emit! writes one log line per event; the CPI writes none (the event is an inner instruction)
            assert_eq!(lines, if cpi { 0 } else { count as usize });
            if cpi {
                // the runtime logs each inner invocation of the program: one per event
                let depth2 = format!("Program {} invoke [2]", perp_test_oracle::ID);
                let inner = meta.log_messages.iter().filter(|l| **l == depth2).count();
                assert_eq!(inner, count as usize, "one inner instruction per event");
            }
            cu.push(meta.compute_units_consumed);
        }
        let each = (cu[2] - cu[0]) / 8;
        println!(
            "{:<9} 0 events {:>6} CU, 1 event {:>6} CU, 8 events {:>6} CU: {:>5} CU per event",
            if cpi { "emit_cpi!" } else { "emit!" },
            cu[0],
            cu[1],
            cu[2],
            each
        );
        per_event.push(each);
    }
    println!("emit_cpi! costs {:.1}x emit! per event", per_event[1] as f64 / per_event[0] as f64);
    assert!(per_event[1] > per_event[0], "the choice of emit! rests on it being the cheaper one");
}

#[tokio::test]
#[ignore = "the program logs events only on the SBF build: scripts/build-sbf, then PERP_SBF=1 ... --include-ignored"]
async fn a_session_s_events_decode_and_number_without_gaps() {
    assert!(perp_client::bank::sbf_dir().is_some(), "PERP_SBF=1 (after scripts/build-sbf)");
    let mut w = world(10 * USDC).await;
    let a = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    let b = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&a, 0, order(OrderSide::Long, BTC / 2)).await.unwrap();
    w.env.trade(&b, 0, order(OrderSide::Short, BTC / 4)).await.unwrap();
    w.env.advance(3_600).await;
    let now = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(20_000), usd(2), now);
    w.env.crank_funding(0).await.unwrap();
    w.env.close(&a, 0).await.unwrap();
    w.env.assert_event_streams().await;
    let mut names = std::collections::BTreeMap::<&str, usize>::new();
    for logs in &w.env.logs {
        for e in events_from_logs(logs, &perp::ID).events {
            *names.entry(e.unwrap().name()).or_default() += 1;
        }
    }
    println!("{names:?}");
    for want in ["ExchangeInitialized", "MarketCreated", "MarginAccountCreated", "CollateralDeposited", "TradeExecuted"]
    {
        assert!(names.contains_key(want), "no {want} in {names:?}");
    }
    assert_eq!(names["TradeExecuted"], 3);
    // the last trade's number is the market's counter
    let last = w.env.logs.iter().rev().find_map(|l| {
        events_from_logs(l, &perp::ID).events.into_iter().rev().find_map(|e| match e {
            Ok(Event::TradeExecuted(t)) => Some(t.seq),
            _ => None,
        })
    });
    assert!(last.unwrap() <= w.env.market(0).await.event_seq);
}
