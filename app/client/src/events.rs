//! The program's events, decoded from a transaction's log with the program's own types.
//!
//! The program logs each event with Anchor's `emit!`: one `Program data: <base64>` line holding
//! the event's 8-byte discriminator and its Borsh bytes. [`events_from_logs`] follows the
//! invocation stack in the log (`Program <id> invoke [n]` ... `success` / `failed`) and takes
//! only the lines written while this program was the one running, so another program of the
//! same transaction cannot forge one. Every event carries `seq`, its number in its stream
//! (`perp::events` explains the three streams); [`Event::stream`] names the stream.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, Discriminator};
use base64::Engine as _;
use perp::events as ev;

/// The stream an event belongs to, with its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamKey {
    Exchange,
    Market(u16),
    Account(Pubkey),
}

impl StreamKey {
    /// `exchange`, `market:<index>` or `account:<base58>`: the stream's name in storage.
    pub fn label(&self) -> String {
        match self {
            StreamKey::Exchange => "exchange".to_string(),
            StreamKey::Market(i) => format!("market:{i}"),
            StreamKey::Account(k) => format!("account:{k}"),
        }
    }
}

/// Why a `Program data:` line of the program did not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventError {
    NotBase64,
    TooShort(usize),
    /// A discriminator no event of this build has (a newer program, or not an event).
    Unknown([u8; 8]),
    /// The discriminator is known but the bytes do not decode as that event (or are left over).
    Malformed(&'static str),
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventError::NotBase64 => write!(f, "not base64"),
            EventError::TooShort(n) => write!(f, "{n} bytes: shorter than a discriminator"),
            EventError::Unknown(d) => write!(f, "unknown event discriminator {d:02x?}"),
            EventError::Malformed(name) => write!(f, "bytes do not decode as {name}"),
        }
    }
}

macro_rules! events {
    (exchange: [$($x:ident),* $(,)?], market: [$($m:ident),* $(,)?], account: [$($a:ident),* $(,)?] $(,)?) => {
        /// Every event the program emits.
        #[allow(clippy::large_enum_variant)]
        pub enum Event {
            $($x(ev::$x),)*
            $($m(ev::$m),)*
            $($a(ev::$a),)*
        }

        /// The names of every event, in the program's order of streams.
        pub const EVENT_NAMES: &[&str] = &[$(stringify!($x),)* $(stringify!($m),)* $(stringify!($a),)*];

        impl Event {
            /// The event's type name (`TradeExecuted`, ...).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Event::$x(_) => stringify!($x),)*
                    $(Event::$m(_) => stringify!($m),)*
                    $(Event::$a(_) => stringify!($a),)*
                }
            }

            /// Its number in its stream.
            pub fn seq(&self) -> u64 {
                match self {
                    $(Event::$x(e) => e.seq,)*
                    $(Event::$m(e) => e.seq,)*
                    $(Event::$a(e) => e.seq,)*
                }
            }

            /// Its stream.
            pub fn stream(&self) -> StreamKey {
                match self {
                    $(Event::$x(_) => StreamKey::Exchange,)*
                    $(Event::$m(e) => StreamKey::Market(e.market_index),)*
                    $(Event::$a(e) => StreamKey::Account(e.margin_account),)*
                }
            }

            /// The bytes the program logs for it (discriminator and Borsh).
            pub fn to_bytes(&self) -> Vec<u8> {
                match self {
                    $(Event::$x(e) => anchor_lang::Event::data(e),)*
                    $(Event::$m(e) => anchor_lang::Event::data(e),)*
                    $(Event::$a(e) => anchor_lang::Event::data(e),)*
                }
            }

            /// Decodes the bytes of one `Program data:` line; every byte must be used.
            pub fn from_bytes(bytes: &[u8]) -> Result<Event, EventError> {
                if bytes.len() < 8 {
                    return Err(EventError::TooShort(bytes.len()));
                }
                let (disc, body) = bytes.split_at(8);
                $(if disc == ev::$x::DISCRIMINATOR {
                    return exact::<ev::$x>(body, stringify!($x)).map(Event::$x);
                })*
                $(if disc == ev::$m::DISCRIMINATOR {
                    return exact::<ev::$m>(body, stringify!($m)).map(Event::$m);
                })*
                $(if disc == ev::$a::DISCRIMINATOR {
                    return exact::<ev::$a>(body, stringify!($a)).map(Event::$a);
                })*
                Err(EventError::Unknown(disc.try_into().expect("8 bytes")))
            }
        }
    };
}

fn exact<T: AnchorDeserialize>(mut body: &[u8], name: &'static str) -> Result<T, EventError> {
    let v = T::deserialize(&mut body).map_err(|_| EventError::Malformed(name))?;
    if !body.is_empty() {
        return Err(EventError::Malformed(name));
    }
    Ok(v)
}

events! {
    exchange: [ExchangeInitialized, PauseChanged, ProposalCreated, ProposalExecuted, ProposalCancelled,
        TimelockChanged, AdminChanged, CollateralListed, CollateralUpdated],
    market: [MarketCreated, MarketUpdated, MarketStatusChanged, TradeExecuted, FundingSampled, InsuranceSwept,
        FundingUpdated, IndexFallbackUsed, InsuranceDeposited, LiquidationExecuted, AccountBankrupt, AdlRoundStarted,
        AdlStep, AdlHaircut, LossSocialized, UnbackedLossRepaid, BankruptcyResolved, Repegged, OrderTriggered, OrderFilled,
        CollateralLiquidated, CollateralDebtResolved],
    account: [MarginAccountCreated, MarginAccountClosed, DelegateSet, CollateralDeposited, CollateralWithdrawn,
        IsolatedCollateralMoved, FundingSettled, OrderPlaced, OrderCancelled, CollateralTokenDeposited,
        CollateralTokenWithdrawn, HaircutSettled],
}

/// The events one transaction's log holds, in the order the program emitted them. An entry's
/// position is its event index in the transaction (undecodable lines keep their place).
#[derive(Default)]
pub struct TxEvents {
    pub events: Vec<Result<Event, EventError>>,
    /// The runtime cut the log short (`Log truncated`): events after the cut are missing, which
    /// the stream numbers of the next events then show as a gap.
    pub truncated: bool,
}

/// The program's events in a transaction's log messages (see the module documentation).
pub fn events_from_logs(logs: &[String], program: &Pubkey) -> TxEvents {
    let mut out = TxEvents::default();
    let me = program.to_string();
    let mut stack: Vec<&str> = Vec::new();
    for line in logs {
        if line == "Log truncated" {
            out.truncated = true;
            continue;
        }
        if let Some(data) = line.strip_prefix("Program data: ") {
            if stack.last() == Some(&me.as_str()) {
                // one field per `emit!`; several would be space-separated
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(data.trim())
                    .map_err(|_| EventError::NotBase64)
                    .and_then(|b| Event::from_bytes(&b));
                out.events.push(decoded);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("Program ") {
            let mut words = rest.split(' ');
            let id = words.next().unwrap_or("");
            // `Program log: ...`, `Program return: ...`: what a program wrote, never a frame
            if id.ends_with(':') {
                continue;
            }
            match words.next() {
                Some("invoke") => stack.push(id),
                // a frame ends only with its own program's line
                Some("success") | Some("failed:") if stack.last() == Some(&id) => {
                    stack.pop();
                }
                _ => {}
            }
        }
    }
    out
}

/// The `Program data:` line the program writes for `e` (tests and the benchmark build logs with it).
pub fn log_line(e: &Event) -> String {
    format!("Program data: {}", base64::engine::general_purpose::STANDARD.encode(e.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(seq: u64) -> Event {
        Event::TradeExecuted(ev::TradeExecuted {
            seq,
            margin_account: Pubkey::new_from_array([7; 32]),
            market_index: 3,
            base: 1_500_000_000,
            quote: -97_500_000_000,
            avg_price: 65_000_000_000,
            fee: 48_750_000,
            insurance_fee: 4_875_000,
            realized_pnl: 0,
            new_base: 1_500_000_000,
            new_quote_entry: -97_500_000_000,
            index_price: 64_990_000_000,
            mark_price: 65_001_000_000,
            vamm_price: 65_010_000_000,
            isolated: false,
            index_was_fallback: false,
            by_delegate: true,
        })
    }

    #[test]
    fn every_event_is_in_the_stream_the_program_documents() {
        assert_eq!(EVENT_NAMES.len(), 43);
        for name in EVENT_NAMES {
            let want = perp::events::stream_of(name).unwrap_or_else(|| panic!("{name} unknown to the program"));
            let group = EVENT_NAMES.iter().position(|n| n == name).unwrap();
            let got = match group {
                0..=8 => perp::events::Stream::Exchange,
                9..=30 => perp::events::Stream::Market,
                _ => perp::events::Stream::Account,
            };
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn a_trade_round_trips_through_its_log_line() {
        let logs = vec![
            format!("Program {} invoke [1]", perp::ID),
            "Program log: Instruction: PlaceMarketOrder".to_string(),
            log_line(&trade(41)),
            format!("Program {} consumed 12000 of 200000 compute units", perp::ID),
            format!("Program {} success", perp::ID),
        ];
        let t = events_from_logs(&logs, &perp::ID);
        assert!(!t.truncated);
        assert_eq!(t.events.len(), 1);
        let Ok(Event::TradeExecuted(e)) = &t.events[0] else { panic!("not a trade") };
        assert_eq!(
            (e.seq, e.market_index, e.base, e.quote, e.fee),
            (41, 3, 1_500_000_000, -97_500_000_000, 48_750_000)
        );
        assert!(e.by_delegate && !e.isolated);
        assert_eq!(t.events[0].as_ref().ok().unwrap().stream(), StreamKey::Market(3));
    }

    #[test]
    fn only_lines_written_while_the_program_runs_count() {
        let other = Pubkey::new_from_array([9; 32]);
        let logs = vec![
            // another program logs a perfect copy of a perp event: not ours
            format!("Program {other} invoke [1]"),
            log_line(&trade(1)),
            // it calls perp: what perp logs is ours
            format!("Program {} invoke [2]", perp::ID),
            log_line(&trade(2)),
            format!("Program {} success", perp::ID),
            // back in the other program
            log_line(&trade(3)),
            format!("Program {other} success"),
            // perp at the top level, then a failed inner call of another program
            format!("Program {} invoke [1]", perp::ID),
            log_line(&trade(4)),
            format!("Program {other} invoke [2]"),
            log_line(&trade(5)),
            format!("Program {other} failed: custom program error: 0x1"),
            log_line(&trade(6)),
            format!("Program {} success", perp::ID),
        ];
        let seqs: Vec<u64> =
            events_from_logs(&logs, &perp::ID).events.into_iter().map(|e| e.ok().unwrap().seq()).collect();
        assert_eq!(seqs, vec![2, 4, 6]);
    }

    #[test]
    fn a_program_s_own_messages_never_move_the_frames() {
        let other = Pubkey::new_from_array([9; 32]);
        let logs = vec![
            format!("Program {} invoke [1]", perp::ID),
            // perp's msg! lines that read like frame lines
            format!("Program log: {other} invoke [2]"),
            "Program log: success".to_string(),
            log_line(&trade(1)),
            format!("Program {other} invoke [2]"),
            // the other program claims perp's frame ended, then logs a perp event
            format!("Program log: {} success", perp::ID),
            log_line(&trade(2)),
            format!("Program {other} success"),
            log_line(&trade(3)),
            format!("Program {} success", perp::ID),
        ];
        let seqs: Vec<u64> =
            events_from_logs(&logs, &perp::ID).events.into_iter().map(|e| e.ok().unwrap().seq()).collect();
        assert_eq!(seqs, vec![1, 3]);
    }

    #[test]
    fn bad_lines_are_errors_in_place_and_truncation_is_reported() {
        let mut unknown = trade(1).to_bytes();
        unknown[0] ^= 0xff;
        let mut long = trade(1).to_bytes();
        long.push(0);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let logs = vec![
            format!("Program {} invoke [1]", perp::ID),
            "Program data: !!!".to_string(),
            format!("Program data: {}", b64(&[1, 2, 3])),
            format!("Program data: {}", b64(&unknown)),
            format!("Program data: {}", b64(&long)),
            format!("Program data: {}", b64(&trade(1).to_bytes()[..40])),
            log_line(&trade(7)),
            "Log truncated".to_string(),
        ];
        let t = events_from_logs(&logs, &perp::ID);
        assert!(t.truncated);
        let errs: Vec<_> = t.events.iter().map(|e| e.as_ref().err().cloned()).collect();
        assert_eq!(errs[0], Some(EventError::NotBase64));
        assert_eq!(errs[1], Some(EventError::TooShort(3)));
        assert!(matches!(errs[2], Some(EventError::Unknown(_))));
        assert_eq!(errs[3], Some(EventError::Malformed("TradeExecuted")));
        assert_eq!(errs[4], Some(EventError::Malformed("TradeExecuted")));
        assert_eq!(t.events[5].as_ref().ok().unwrap().seq(), 7);
    }
}
