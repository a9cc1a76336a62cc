//! The program must never panic (on SBF a panic logs only its location and aborts): every input
//! ends in `Ok` or an error. This drives the program's entrypoint directly (natively) with every
//! instruction, malformed and truncated data, and account sets built from a real exchange's
//! accounts — correct ones with bytes flipped, accounts swapped, dropped, repeated, of the wrong
//! type or owner, signer and writable flags toggled — and fails on the first panic, printing the
//! case. The number of cases is printed; `PERP_NO_PANIC_CASES=N` runs more, `PERP_NO_PANIC_SEED=S`
//! another sequence (a million cases take about a minute).

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::Discriminator;
use perp::instructions::{OrderParams, OrderSide};
use perp_client::{ix, pda};
use perp_tests::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Deterministic xorshift64* (no dependency, reproducible cases).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Syscalls for the native entrypoint outside a bank: a clock, silent logs, CPIs that succeed.
struct Stubs;
impl anchor_lang::compat::solana_sysvar::program_stubs::SyscallStubs for Stubs {
    fn sol_log(&self, _message: &str) {}
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        let clock = anchor_lang::prelude::Clock { unix_timestamp: T0 + 100, slot: 100, ..Default::default() };
        unsafe { *(var_addr as *mut anchor_lang::prelude::Clock) = clock };
        0
    }
}

#[derive(Clone)]
struct Acc {
    owner: Pubkey,
    lamports: u64,
    data: Vec<u8>,
    executable: bool,
}

/// A real exchange after some activity: markets, accounts with cross, isolated and bankrupt
/// positions, an ADL round, a proposal, oracles, token accounts.
async fn snapshot() -> (BTreeMap<Pubkey, Acc>, Vec<Instruction>) {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), T0);
    env.create_market(0, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
    let pull = Keypair::new().pubkey();
    env.set_pull_oracle(pull, [7; 32], usd(1_500), usd(1), T0, true);
    env.create_market(1, default_market_params(vec![pull_oracle(pull, [7; 32])]), 10_000, usd(1_500)).await;
    let alice = env.user(1_000_000 * USDC, 100_000 * USDC).await;
    let carol = env.user(1_000_000 * USDC, 10_000 * USDC).await;
    let dan = env.user(1_000_000 * USDC, 100_000 * USDC).await;
    env.trade(&alice, 0, order(OrderSide::Long, BTC)).await.unwrap();
    let mut iso = order(OrderSide::Short, 10 * BTC);
    iso.isolated = true;
    iso.isolated_collateral = 5_000 * USDC;
    env.trade(&alice, 1, iso).await.unwrap();
    env.trade(&carol, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    env.trade(&dan, 0, order(OrderSide::Short, 2 * BTC)).await.unwrap();
    env.set_legacy_oracle(oracle, usd(17_000), usd(2), T0);
    let liq = ix::liquidate(alice.key(), alice.account, carol.account, 0, &[oracle], &[], 0);
    env.send(&[liq], &[&alice.kp]).await.unwrap();
    env.send(&[ix::begin_adl_round(0, &[oracle], carol.account)], &[]).await.unwrap();
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), T0);
    let version = env.market(0).await.params_version;
    let params = default_market_params(vec![legacy_oracle(oracle)]);
    let id = env
        .propose(perp::state::AdminAction::UpdateMarket { market_index: 0, params: params.clone(), version })
        .await
        .unwrap();

    let admin = env.admin.pubkey();
    let a = env.margin(&alice.account).await;
    let p = OrderParams {
        side: OrderSide::Long,
        size: BTC as u64,
        limit_price: 0,
        reduce_only: false,
        isolated: false,
        isolated_collateral: 0,
        max_index_deviation: 0,
    };
    // one well-formed instruction of every kind
    let templates = vec![
        ix::initialize_exchange(admin, env.mint, Env::exchange_params()),
        ix::propose(admin, id + 1, perp::state::AdminAction::SetAdmin { new_admin: admin }),
        ix::cancel_proposal(admin, id),
        ix::set_timelock_delay(admin, 100),
        ix::execute_update_market(admin, id, admin, 0),
        ix::execute_create_market(admin, id, admin, 2),
        ix::execute_exchange_action(admin, id, admin),
        ix::update_market(admin, 0, params),
        ix::set_pause(admin, 1),
        ix::set_market_status(admin, 0, 2),
        ix::create_margin_account(alice.key(), 1),
        ix::deposit(alice.key(), alice.account, alice.token, USDC),
        ix::withdraw(alice.key(), alice.account, alice.token, USDC, &ix::cross_markets(&a, None)),
        ix::place_market_order(alice.key(), alice.account, 0, &[oracle], &ix::position_markets(&a, Some(0)), p),
        ix::close_position(alice.key(), alice.account, 1, &[pull], &ix::position_markets(&a, Some(1)), 0),
        ix::move_isolated_collateral(alice.key(), alice.account, 1, -(USDC as i64), &[1]),
        ix::set_delegate(alice.key(), alice.account, dan.key()),
        ix::close_margin_account(alice.key(), alice.account),
        ix::update_funding(0, &[oracle]),
        ix::settle_funding(alice.account, &[0, 1]),
        ix::deposit_insurance(alice.key(), alice.token, 0, USDC),
        ix::sweep_insurance(0),
        ix::liquidate(dan.key(), dan.account, alice.account, 0, &[oracle], &[], 0),
        ix::adl_scan(0, &[dan.account, alice.account]),
        ix::auto_deleverage(0, &[oracle], carol.account, &[dan.account]),
        ix::resolve_bankruptcy(0, &[oracle], carol.account),
        ix::begin_adl_round(0, &[oracle], carol.account),
        ix::repeg(0, &[oracle]),
    ];
    let mut keys: Vec<Pubkey> = templates.iter().flat_map(|i| i.accounts.iter().map(|m| m.pubkey)).collect();
    keys.extend([pda::exchange(), pda::market(0), pda::market(1), pda::adl_round(0), pda::proposal(id), oracle, pull]);
    let mut accounts = BTreeMap::new();
    for k in keys {
        if accounts.contains_key(&k) {
            continue;
        }
        if let Some(a) = env.ctx.banks_client.get_account(k).await.unwrap() {
            accounts.insert(k, Acc { owner: a.owner, lamports: a.lamports, data: a.data, executable: a.executable });
        }
    }
    (accounts, templates)
}

/// Every instruction's discriminator (for data that names an instruction but carries garbage).
fn discriminators() -> Vec<&'static [u8]> {
    use perp::instruction as i;
    vec![
        i::InitializeExchange::DISCRIMINATOR,
        i::Propose::DISCRIMINATOR,
        i::CancelProposal::DISCRIMINATOR,
        i::SetTimelockDelay::DISCRIMINATOR,
        i::ExecuteUpdateMarket::DISCRIMINATOR,
        i::ExecuteCreateMarket::DISCRIMINATOR,
        i::ExecuteExchangeAction::DISCRIMINATOR,
        i::UpdateMarket::DISCRIMINATOR,
        i::SetPause::DISCRIMINATOR,
        i::SetMarketStatus::DISCRIMINATOR,
        i::CreateMarginAccount::DISCRIMINATOR,
        i::Deposit::DISCRIMINATOR,
        i::Withdraw::DISCRIMINATOR,
        i::PlaceMarketOrder::DISCRIMINATOR,
        i::ClosePosition::DISCRIMINATOR,
        i::MoveIsolatedCollateral::DISCRIMINATOR,
        i::SetDelegate::DISCRIMINATOR,
        i::CloseMarginAccount::DISCRIMINATOR,
        i::UpdateFunding::DISCRIMINATOR,
        i::SettleFunding::DISCRIMINATOR,
        i::DepositInsurance::DISCRIMINATOR,
        i::SweepInsurance::DISCRIMINATOR,
        i::Liquidate::DISCRIMINATOR,
        i::BeginAdlRound::DISCRIMINATOR,
        i::AdlScan::DISCRIMINATOR,
        i::AutoDeleverage::DISCRIMINATOR,
        i::ResolveBankruptcy::DISCRIMINATOR,
    ]
}

struct Case {
    data: Vec<u8>,
    metas: Vec<(Pubkey, bool, bool)>,
    accounts: Vec<(Pubkey, Acc)>,
}

fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>) {
    // an integer edge value over 8 bytes somewhere (i64::MIN, MAX, -1, u64::MAX, 0, 1)
    if rng.chance(30) && data.len() >= 8 {
        let edges = [i64::MIN as u64, i64::MAX as u64, u64::MAX, 0, 1, (i64::MIN + 1) as u64];
        let v = edges[rng.below(edges.len())].to_le_bytes();
        let at = rng.below(data.len() - 7);
        data[at..at + 8].copy_from_slice(&v);
        return;
    }
    match rng.below(5) {
        0 if !data.is_empty() => {
            let n = rng.below(data.len());
            data.truncate(n)
        }
        1 => data.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
        _ => {
            for _ in 0..1 + rng.below(4) {
                if !data.is_empty() {
                    let i = rng.below(data.len());
                    data[i] = match rng.below(4) {
                        0 => 0,
                        1 => 0xff,
                        _ => rng.next() as u8,
                    };
                }
            }
        }
    }
}

fn make_case(rng: &mut Rng, pool: &BTreeMap<Pubkey, Acc>, templates: &[Instruction], discs: &[&[u8]]) -> Case {
    let t = &templates[rng.below(templates.len())];
    let mut data = t.data.clone();
    if rng.chance(40) {
        mutate_bytes(rng, &mut data);
    }
    if rng.chance(5) {
        data = discs[rng.below(discs.len())].to_vec();
        data.extend((0..rng.below(200)).map(|_| rng.next() as u8));
    }
    let mut metas: Vec<(Pubkey, bool, bool)> =
        t.accounts.iter().map(|m| (m.pubkey, m.is_signer, m.is_writable)).collect();
    let keys: Vec<Pubkey> = pool.keys().copied().collect();
    if rng.chance(30) && !metas.is_empty() {
        let i = rng.below(metas.len());
        metas[i].0 = keys[rng.below(keys.len())];
    }
    if rng.chance(15) && metas.len() > 1 {
        let (i, j) = (rng.below(metas.len()), rng.below(metas.len()));
        metas.swap(i, j);
    }
    if rng.chance(15) && !metas.is_empty() {
        let n = rng.below(metas.len());
        metas.truncate(n);
    }
    if rng.chance(15) && !metas.is_empty() {
        let i = rng.below(metas.len());
        metas.push(metas[i]);
    }
    if rng.chance(20) {
        for _ in 0..rng.below(6) {
            metas.push((keys[rng.below(keys.len())], rng.chance(30), rng.chance(50)));
        }
    }
    if rng.chance(20) && !metas.is_empty() {
        let i = rng.below(metas.len());
        metas[i].1 = !metas[i].1;
        metas[i].2 = !metas[i].2;
    }
    let mut accounts: Vec<(Pubkey, Acc)> = Vec::new();
    for (k, _, _) in &metas {
        if accounts.iter().any(|(a, _)| a == k) {
            continue;
        }
        let mut acc = pool.get(k).cloned().unwrap_or(Acc {
            owner: Pubkey::default(),
            lamports: 0,
            data: vec![],
            executable: false,
        });
        if !acc.executable && rng.chance(25) {
            if rng.chance(30) {
                // another account's bytes under this key (type cosplay)
                let other = &pool[&keys[rng.below(keys.len())]];
                acc.data = other.data.clone();
                acc.owner = other.owner;
            }
            mutate_bytes(rng, &mut acc.data);
        }
        if rng.chance(3) {
            acc.owner = [perp::ID, anchor_spl::token::ID, Pubkey::default(), Keypair::new().pubkey()][rng.below(4)];
        }
        accounts.push((*k, acc));
    }
    Case { data, metas, accounts }
}

/// Bytes the runtime keeps around account data: the length before it (which `AccountInfo::resize`
/// rewrites) and room to grow after it.
const PRE: usize = 8;
const GROW: usize = 10 * 1024;

/// Runs one case through the entrypoint; `Err` carries the panic message.
fn run(case: &Case) -> Result<bool, String> {
    let keys: Vec<Pubkey> = case.accounts.iter().map(|(k, _)| *k).collect();
    let mut owners: Vec<Pubkey> = case.accounts.iter().map(|(_, a)| a.owner).collect();
    let mut lamports: Vec<u64> = case.accounts.iter().map(|(_, a)| a.lamports).collect();
    let mut bufs: Vec<Vec<u8>> = case
        .accounts
        .iter()
        .map(|(_, a)| {
            let mut b = vec![0u8; PRE + a.data.len() + GROW];
            b[..PRE].copy_from_slice(&(a.data.len() as u64).to_le_bytes());
            b[PRE..PRE + a.data.len()].copy_from_slice(&a.data);
            b
        })
        .collect();
    let lens: Vec<usize> = case.accounts.iter().map(|(_, a)| a.data.len()).collect();
    let cells: Vec<_> = lamports
        .iter_mut()
        .zip(bufs.iter_mut())
        .zip(&lens)
        .map(|((l, b), n)| (Rc::new(RefCell::new(l)), Rc::new(RefCell::new(&mut b[PRE..PRE + n]))))
        .collect();
    let owner_refs: Vec<&Pubkey> = owners.iter_mut().map(|o| &*o).collect();
    let infos: Vec<AccountInfo> = case
        .metas
        .iter()
        .map(|(k, signer, writable)| {
            let i = keys.iter().position(|x| x == k).unwrap();
            AccountInfo {
                key: &keys[i],
                lamports: cells[i].0.clone(),
                data: cells[i].1.clone(),
                owner: owner_refs[i],
                #[allow(deprecated)]
                _unused: 0,
                is_signer: *signer,
                is_writable: *writable,
                executable: case.accounts[i].1.executable,
            }
        })
        .collect();
    // Anchor's entry wants one lifetime for the slice and its elements (as the native processor)
    let infos: &[AccountInfo] = unsafe { core::mem::transmute::<&[AccountInfo], &[AccountInfo]>(&infos) };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| perp::entry(&perp::ID, infos, &case.data).is_ok()))
        .map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
}

#[tokio::test(flavor = "current_thread")]
async fn no_instruction_panics_on_any_input() {
    let (pool, templates) = snapshot().await;
    anchor_lang::compat::solana_sysvar::program_stubs::set_syscall_stubs(Box::new(Stubs));
    std::panic::set_hook(Box::new(|_| {}));
    let discs = discriminators();
    let n: usize = std::env::var("PERP_NO_PANIC_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed =
        std::env::var("PERP_NO_PANIC_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_1234_abcd_0001u64);
    let mut rng = Rng(seed | 1);
    let (mut ok, mut err) = (0usize, 0usize);
    // every template untouched first: they run
    for (i, t) in templates.iter().enumerate() {
        let case = Case {
            data: t.data.clone(),
            metas: t.accounts.iter().map(|m| (m.pubkey, m.is_signer, m.is_writable)).collect(),
            accounts: t.accounts.iter().filter_map(|m| pool.get(&m.pubkey).map(|a| (m.pubkey, a.clone()))).fold(
                Vec::new(),
                |mut v, (k, a)| {
                    if !v.iter().any(|(x, _): &(Pubkey, Acc)| *x == k) {
                        v.push((k, a));
                    }
                    v
                },
            ),
        };
        let mut case = case;
        for (k, _, _) in case.metas.clone() {
            if !case.accounts.iter().any(|(x, _)| *x == k) {
                case.accounts.push((k, Acc { owner: Pubkey::default(), lamports: 0, data: vec![], executable: false }));
            }
        }
        if let Err(msg) = run(&case) {
            let _ = std::panic::take_hook();
            panic!("template {i} panicked: {msg}");
        }
    }
    for c in 0..n {
        let case = make_case(&mut rng, &pool, &templates, &discs);
        match run(&case) {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(msg) => {
                let _ = std::panic::take_hook();
                panic!(
                    "case {c} panicked: {msg}\n  data {:?}\n  accounts {:?}",
                    case.data,
                    case.metas.iter().map(|(k, s, w)| (k.to_string(), *s, *w)).collect::<Vec<_>>()
                );
            }
        }
    }
    let _ = std::panic::take_hook();
    println!("{n} random cases: {ok} succeeded, {err} returned an error, none panicked");
    assert!(err > n / 2, "most malformed cases must fail");
}
