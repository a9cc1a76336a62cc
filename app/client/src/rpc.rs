//! A real cluster over JSON-RPC as a [`Chain`]: commitment, retries with backoff for transport
//! failures, `getProgramAccounts` with filters, batched `getMultipleAccounts`.

use crate::chain::{decode_transaction_error, with_budget, AccountData, Chain, ChainError, ChainResult, SendOptions};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_signer::Signer;
use solana_transaction::Transaction;
use std::time::Duration;

/// Retry policy for transport failures (a failed transaction is never retried blindly).
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub attempts: u32,
    pub first_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 4, first_backoff: Duration::from_millis(250) }
    }
}

pub struct RpcChain {
    client: RpcClient,
    retry: Retry,
}

/// `finalized`, `confirmed` or `processed`.
pub fn commitment(name: &str) -> Option<CommitmentConfig> {
    match name {
        "finalized" => Some(CommitmentConfig::finalized()),
        "confirmed" => Some(CommitmentConfig::confirmed()),
        "processed" => Some(CommitmentConfig::processed()),
        _ => None,
    }
}

fn classify(e: ClientError) -> ChainError {
    match e.get_transaction_error() {
        Some(t) => decode_transaction_error(&t),
        None => ChainError::Transport(e.to_string()),
    }
}

impl RpcChain {
    pub fn new(url: &str, commitment: CommitmentConfig, retry: Retry) -> RpcChain {
        RpcChain { client: RpcClient::new_with_commitment(url.to_string(), commitment), retry }
    }

    async fn retrying<T, F, Fut>(&self, mut f: F) -> ChainResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut wait = self.retry.first_backoff;
        let mut last = None;
        for _ in 0..self.retry.attempts.max(1) {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let c = classify(e);
                    if !c.is_transport() {
                        return Err(c);
                    }
                    last = Some(c);
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        Err(last.unwrap_or_else(|| ChainError::Transport("no attempt made".into())))
    }
}

impl Chain for RpcChain {
    async fn account(&self, key: &Pubkey) -> ChainResult<Option<AccountData>> {
        let c = self.client.commitment();
        let r = self.retrying(|| self.client.get_account_with_commitment(key, c)).await?;
        Ok(r.value.map(|a| AccountData { owner: a.owner, lamports: a.lamports, data: a.data }))
    }

    async fn accounts(&self, keys: &[Pubkey]) -> ChainResult<Vec<Option<AccountData>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let r = self.retrying(|| self.client.get_multiple_accounts(chunk)).await?;
            out.extend(
                r.into_iter().map(|a| a.map(|a| AccountData { owner: a.owner, lamports: a.lamports, data: a.data })),
            );
        }
        Ok(out)
    }

    async fn program_accounts(&self, discriminator: &[u8], data_len: usize) -> ChainResult<Vec<(Pubkey, Vec<u8>)>> {
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::DataSize(data_len as u64),
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, discriminator.to_vec())),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.client.commitment()),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = self.retrying(|| self.client.get_program_ui_accounts_with_config(&perp::ID, config.clone())).await?;
        r.into_iter()
            .map(|(k, a)| {
                a.data
                    .decode()
                    .map(|d| (k, d))
                    .ok_or_else(|| ChainError::Account(format!("account {k}: undecodable data")))
            })
            .collect()
    }

    async fn send(&self, ixs: &[Instruction], signers: &[&Keypair], opts: &SendOptions) -> ChainResult<String> {
        let payer = signers.first().ok_or_else(|| ChainError::Transport("no signer to pay the fee".into()))?;
        let ixs = with_budget(ixs, opts);
        let bh = self.retrying(|| self.client.get_latest_blockhash()).await?;
        let tx = Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), signers, bh);
        // one attempt: a transaction that may have landed is not re-sent with a new blockhash here
        let sig = self.client.send_and_confirm_transaction(&tx).await.map_err(classify)?;
        Ok(sig.to_string())
    }

    async fn unix_time(&self) -> ChainResult<i64> {
        // the Clock sysvar: slot u64, epoch_start_timestamp i64, epoch u64, leader_schedule_epoch u64, unix_timestamp i64
        let clock = anchor_lang::pubkey!("SysvarC1ock11111111111111111111111111111111");
        let a = self.account(&clock).await?.ok_or_else(|| ChainError::Account("clock sysvar missing".into()))?;
        let d = a.data.get(32..40).ok_or_else(|| ChainError::Account("clock sysvar too short".into()))?;
        Ok(i64::from_le_bytes(d.try_into().unwrap()))
    }
}
