//! Setting up a new local chain over JSON-RPC: wait for the node and its programs, fund the
//! localnet authority, create the USDC-like mint and the oracle accounts, give test keypairs SOL
//! and USDC. Every step is idempotent: on a restarted chain what exists is left as it is.

use super::oracles::{self, Feed};
use crate::output::CliError;
use perp_client::chain::{Chain, SendOptions};
use perp_client::rpc::RpcChain;
use perp_client::{Instruction, Pubkey};
use perp_core::Price;
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::time::{Duration, Instant};

/// Decimals of the local USDC (as USDC's).
pub const USDC_DECIMALS: u8 = 6;
const SOL: u64 = 1_000_000_000;

pub fn failed(m: impl std::fmt::Display) -> CliError {
    CliError::Failed { message: m.to_string(), details: None }
}

/// Waits until the node answers `getSlot` and has produced a few slots.
pub async fn wait_for_node(c: &RpcChain, timeout: Duration) -> Result<u64, CliError> {
    let start = Instant::now();
    loop {
        match c.client().get_slot().await {
            Ok(s) if s >= 2 => return Ok(s),
            Ok(_) => {}
            Err(e) if start.elapsed() > timeout => {
                return Err(failed(format!("node not answering after {timeout:?}: {e}")))
            }
            Err(_) => {}
        }
        if start.elapsed() > timeout {
            return Err(failed(format!("node produced no slots within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Programs deployed at genesis can be called a slot or two later: waits until a call to each no
/// longer fails with "not deployed" (an empty instruction then fails in the program itself).
pub async fn wait_for_programs(c: &RpcChain, payer: &Keypair, programs: &[Pubkey]) -> Result<(), CliError> {
    use solana_transaction::Transaction;
    for p in programs {
        let mut tries = 0;
        loop {
            let bh = c.client().get_latest_blockhash().await.map_err(failed)?;
            let ix = Instruction { program_id: *p, accounts: vec![], data: vec![] };
            let tx = Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[payer], bh);
            match c.client().simulate_transaction(&tx).await {
                Ok(r) => {
                    let text = format!("{:?} {:?}", r.value.err, r.value.logs);
                    if !(text.contains("not deployed") || text.contains("ProgramAccountNotFound")) {
                        break;
                    }
                }
                Err(e) => {
                    if tries > 40 {
                        return Err(failed(format!("program {p}: {e}")));
                    }
                }
            }
            tries += 1;
            if tries > 60 {
                return Err(failed(format!(
                    "program {p} is not deployed on this node: programs are loaded into a new chain only \
                     (start with --reset after building the .so files with scripts/build-sbf)"
                )));
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }
    Ok(())
}

/// Tops `to` up to at least `sol` SOL from the node's faucet.
pub async fn ensure_sol(c: &RpcChain, to: &Pubkey, sol: u64) -> Result<u64, CliError> {
    let have = c.client().get_balance(to).await.map_err(failed)?;
    if have >= sol * SOL {
        return Ok(have);
    }
    c.airdrop(to, sol * SOL - have).await.map_err(|e| failed(format!("airdrop to {to}: {e}")))?;
    c.client().get_balance(to).await.map_err(failed)
}

/// Creates the mint at the address of `mint` (`decimals`, `authority` mints, no freeze
/// authority) unless it exists.
pub async fn ensure_mint(c: &RpcChain, authority: &Keypair, mint: &Keypair, decimals: u8) -> Result<bool, CliError> {
    if c.account(&mint.pubkey()).await.map_err(failed)?.is_some() {
        return Ok(false);
    }
    let len = 82u64; // spl_token_interface::state::Mint::LEN
    let rent = c.client().get_minimum_balance_for_rent_exemption(len as usize).await.map_err(failed)?;
    let create = solana_system_interface::instruction::create_account(
        &authority.pubkey(),
        &mint.pubkey(),
        rent,
        len,
        &spl_token_interface::ID,
    );
    let init = spl_token_interface::instruction::initialize_mint2(
        &spl_token_interface::ID,
        &mint.pubkey(),
        &authority.pubkey(),
        None,
        decimals,
    )
    .map_err(failed)?;
    c.send(&[create, init], &[authority, mint], &SendOptions::default()).await.map_err(failed)?;
    Ok(true)
}

/// Creates the oracle accounts that do not exist yet and writes `price` into every feed.
pub async fn ensure_oracles(
    c: &RpcChain,
    authority: &Keypair,
    feeds: &[Feed],
    price: Price,
) -> Result<usize, CliError> {
    let mut created = 0;
    for f in feeds {
        if c.account(&f.key).await.map_err(failed)?.is_none() {
            c.send(&[oracles::create_ix(authority.pubkey(), f)], &[authority], &SendOptions::default())
                .await
                .map_err(|e| failed(format!("creating oracle {}: {e}", f.key)))?;
            created += 1;
        }
    }
    let now = c.unix_time().await.map_err(failed)?;
    let ixs: Vec<Instruction> = feeds
        .iter()
        .map(|f| {
            let p = f.initial.unwrap_or(price);
            oracles::set_price_ix(authority.pubkey(), f, p, Price(p.0 / 10_000), now)
        })
        .collect();
    c.send(&ixs, &[authority], &SendOptions::default()).await.map_err(failed)?;
    Ok(created)
}

/// `owner`'s associated token account for `mint` (created if missing), with `amount` more minted
/// into it by `authority`, which pays.
pub async fn mint_usdc(
    c: &RpcChain,
    authority: &Keypair,
    mint: &Pubkey,
    owner: &Pubkey,
    amount: u64,
) -> Result<Pubkey, CliError> {
    let ata = crate::trader::associated_token_account(owner, mint);
    let ata_program: Pubkey = anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
    let create = Instruction {
        program_id: ata_program,
        accounts: vec![
            perp_client::AccountMeta::new(authority.pubkey(), true),
            perp_client::AccountMeta::new(ata, false),
            perp_client::AccountMeta::new_readonly(*owner, false),
            perp_client::AccountMeta::new_readonly(*mint, false),
            perp_client::AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
            perp_client::AccountMeta::new_readonly(spl_token_interface::ID, false),
        ],
        data: vec![1], // CreateIdempotent
    };
    let mut ixs = vec![create];
    if amount > 0 {
        ixs.push(
            spl_token_interface::instruction::mint_to(
                &spl_token_interface::ID,
                mint,
                &ata,
                &authority.pubkey(),
                &[],
                amount,
            )
            .map_err(failed)?,
        );
    }
    c.send(&ixs, &[authority], &SendOptions::default()).await.map_err(failed)?;
    Ok(ata)
}
