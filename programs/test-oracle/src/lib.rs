//! LOCALNET ONLY. A stand-in for Pyth on a local cluster, where Pyth's own programs cannot run
//! (pull updates need Wormhole guardian signatures). It writes price accounts in the exact layouts
//! the perp program reads on mainnet: legacy v2 push price accounts (3,312 bytes) and the receiver
//! program's `PriceUpdateV2` (134 bytes, serialized with the receiver SDK's own type). A local
//! exchange points its oracle-owner settings (`pyth_legacy_program`, `pyth_receiver_program`) at
//! this program; a mainnet deployment never does, and this program is never deployed there.
//!
//! Accounts are PDAs `["oracle", authority, seed]`: only the authority that created one can write
//! its price, so a local cluster shared by several people keeps its feeds.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod emit_bench;
pub mod layout;

declare_id!("PerpTestFeed1111111111111111111111111111111");

/// PDA seed prefix of an oracle account.
pub const ORACLE_SEED: &[u8] = b"oracle";

/// Oracle account kinds (the perp program's `oracle_kind` numbering).
pub mod kind {
    pub const LEGACY: u8 = 0;
    pub const PULL: u8 = 1;
}

#[program]
pub mod perp_test_oracle {
    use super::*;

    /// Creates an oracle account of `kind` at `["oracle", authority, seed]` with exponent `expo`
    /// and no price yet (publish time 0: the perp program treats it as stale). For a pull
    /// account `seed` is the Pyth feed id written into the price message.
    pub fn create(ctx: Context<Create>, kind: u8, seed: [u8; 32], expo: i32) -> Result<()> {
        require!((-18..=0).contains(&expo), TestOracleError::BadExponent);
        let size = match kind {
            kind::LEGACY => layout::LEGACY_SIZE,
            kind::PULL => layout::PULL_SIZE,
            _ => return err!(TestOracleError::BadKind),
        };
        let oracle = &ctx.accounts.oracle;
        require!(oracle.lamports() == 0 && oracle.data_is_empty(), TestOracleError::AlreadyCreated);
        let authority = ctx.accounts.authority.key();
        let bump = [ctx.bumps.oracle];
        let seeds: &[&[u8]] = &[ORACLE_SEED, authority.as_ref(), &seed, &bump];
        anchor_lang::system_program::create_account(
            CpiContext::new_with_signer(
                ctx.accounts.system_program.key(),
                anchor_lang::system_program::CreateAccount {
                    from: ctx.accounts.authority.to_account_info(),
                    to: oracle.to_account_info(),
                },
                &[seeds],
            ),
            Rent::get()?.minimum_balance(size),
            size as u64,
            &crate::ID,
        )?;
        let mut data = oracle.try_borrow_mut_data()?;
        match kind {
            kind::LEGACY => layout::legacy_init(&mut data, expo),
            _ => layout::pull_store(
                &mut data,
                &layout::pull_update(&authority, seed, &layout::Quote::empty(expo), 0, 0, 0),
            )?,
        }
        Ok(())
    }

    /// Writes a price: `price` and `conf` are mantissas at the account's exponent; `signatures` 0
    /// means a fully verified pull update, n > 0 a partial one with n guardian signatures (legacy
    /// accounts ignore it). Any publish time is accepted: tests write stale and future ones.
    pub fn set_price(
        ctx: Context<SetPrice>,
        _seed: [u8; 32],
        price: i64,
        conf: u64,
        publish_time: i64,
        signatures: u8,
    ) -> Result<()> {
        let slot = Clock::get()?.slot;
        let authority = ctx.accounts.authority.key();
        let mut data = ctx.accounts.oracle.try_borrow_mut_data()?;
        match data.len() {
            layout::LEGACY_SIZE => {
                let expo = layout::legacy_expo(&data);
                layout::legacy_write(&mut data, &layout::Quote { price, conf, expo, publish_time }, slot)
            }
            layout::PULL_SIZE => {
                let m = layout::pull_read(&data)?.price_message;
                let q = layout::Quote { price, conf, expo: m.exponent, publish_time };
                let u = layout::pull_update(&authority, m.feed_id, &q, m.publish_time, signatures, slot);
                layout::pull_store(&mut data, &u)
            }
            _ => err!(TestOracleError::BadKind),
        }
    }

    /// Benchmark (tests/tests/events.rs): `count` events the size of the perp program's largest
    /// frequent one (`TradeExecuted`), each through `emit!` (a `sol_log_data` line).
    pub fn bench_emit_log(_ctx: Context<BenchLog>, count: u8) -> Result<()> {
        for i in 0..count {
            emit!(emit_bench::sample(i));
        }
        Ok(())
    }

    /// Benchmark: the same events through the self-invocation Anchor's `emit_cpi!` makes (an
    /// inner instruction to this program, signed by the `__event_authority` PDA, carrying the
    /// event tag, the event's discriminator and its Borsh bytes); [`event_sink`] receives it.
    pub fn bench_emit_cpi(ctx: Context<BenchCpi>, count: u8) -> Result<()> {
        let authority = ctx.accounts.event_authority.to_account_info();
        let bump = [ctx.bumps.event_authority];
        for i in 0..count {
            emit_bench::emit_by_cpi(&authority, &bump, &emit_bench::sample(i))?;
        }
        Ok(())
    }

    /// The receiving end of [`bench_emit_cpi`]: checks, as Anchor's event handler does, that the
    /// event authority signed, and does nothing else.
    pub fn event_sink(ctx: Context<EventSink>) -> Result<()> {
        require_keys_eq!(ctx.accounts.event_authority.key(), emit_bench::EVENT_AUTHORITY);
        Ok(())
    }
}

#[derive(Accounts)]
pub struct BenchLog<'info> {
    pub payer: Signer<'info>,
}

/// The accounts `#[event_cpi]` adds to an instruction: the authority PDA and the program itself.
#[derive(Accounts)]
pub struct BenchCpi<'info> {
    pub payer: Signer<'info>,
    /// CHECK: the PDA that signs the self-invocation
    #[account(seeds = [emit_bench::EVENT_AUTHORITY_SEED], bump)]
    pub event_authority: UncheckedAccount<'info>,
    /// CHECK: this program
    #[account(address = crate::ID)]
    pub program: UncheckedAccount<'info>,
}

#[derive(Accounts)]
pub struct EventSink<'info> {
    pub event_authority: Signer<'info>,
}

#[derive(Accounts)]
#[instruction(kind: u8, seed: [u8; 32])]
pub struct Create<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    /// CHECK: created here at the PDA the seeds give
    #[account(mut, seeds = [ORACLE_SEED, authority.key().as_ref(), &seed], bump)]
    pub oracle: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

#[derive(Accounts)]
#[instruction(seed: [u8; 32])]
pub struct SetPrice<'info> {
    pub authority: Signer<'info>,
    /// CHECK: the PDA of this authority and seed, owned by this program (so created by `create`)
    #[account(mut, owner = crate::ID, seeds = [ORACLE_SEED, authority.key().as_ref(), &seed], bump)]
    pub oracle: UncheckedAccount<'info>,
}

#[error_code]
pub enum TestOracleError {
    #[msg("kind must be 0 (legacy) or 1 (pull)")]
    BadKind,
    #[msg("exponent must be between -18 and 0")]
    BadExponent,
    #[msg("the oracle account already exists")]
    AlreadyCreated,
    #[msg("the account is not a PriceUpdateV2")]
    NotAPriceUpdate,
}

/// The oracle account of `authority` and `seed`.
pub fn oracle_address(authority: &Pubkey, seed: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[ORACLE_SEED, authority.as_ref(), seed], &crate::ID).0
}
