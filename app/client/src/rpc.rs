//! A real cluster over JSON-RPC as a [`Chain`]: commitment, retries with backoff for transport
//! failures, `getProgramAccounts` with filters, batched `getMultipleAccounts`.

use crate::chain::{
    decode_transaction_error_with_logs, with_budget, AccountData, Chain, ChainError, ChainResult, SendOptions,
};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_rpc_client_api::request::RpcRequest;
use solana_rpc_client_api::response::{OptionalContext, RpcKeyedAccount};
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
    use solana_rpc_client_api::client_error::ErrorKind;
    use solana_rpc_client_api::request::{RpcError, RpcResponseErrorData};
    // a preflight failure carries the simulation's logs
    let logs = match e.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError {
            data: RpcResponseErrorData::SendTransactionPreflightFailure(sim),
            ..
        }) => sim.logs.clone().unwrap_or_default(),
        _ => Vec::new(),
    };
    match e.get_transaction_error() {
        Some(t) => decode_transaction_error_with_logs(&t, &logs),
        // reqwest's own text says only "error sending request": name the cause it knows
        None => match e.kind() {
            ErrorKind::Reqwest(r) if r.is_timeout() => ChainError::Transport(format!("timed out: {e}")),
            ErrorKind::Reqwest(r) if r.is_connect() => {
                ChainError::Transport(format!("connection refused or no route: {e}"))
            }
            ErrorKind::Reqwest(_) => ChainError::Transport(format!("request failed after connecting: {e}")),
            _ => ChainError::Transport(e.to_string()),
        },
    }
}

/// `getProgramAccounts` / `programSubscribe` filters for one account type of the program.
/// True when the URL's host is this machine (`localhost`, 127.0.0.0/8, `::1`), whatever its
/// scheme: a node there is the operator's own.
pub fn is_loopback_url(url: &str) -> bool {
    // anything an HTTP client could read differently (user info, a backslash, a query or fragment
    // right after the host) is not taken as loopback
    if url.contains('\\') || url.contains('@') {
        return false;
    }
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = if let Some(h) = authority.strip_prefix('[') {
        h.split(']').next().unwrap_or(h)
    } else {
        authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority)
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

pub fn program_filters(discriminator: &[u8], data_len: usize) -> Vec<RpcFilterType> {
    vec![
        RpcFilterType::DataSize(data_len as u64),
        RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, discriminator.to_vec())),
    ]
}

impl RpcChain {
    pub fn new(url: &str, commitment: CommitmentConfig, retry: Retry) -> RpcChain {
        RpcChain { client: RpcClient::new_with_commitment(url.to_string(), commitment), retry }
    }

    /// The underlying JSON-RPC client (airdrops, health, signature status).
    pub fn client(&self) -> &RpcClient {
        &self.client
    }

    /// Signs with `blockhash` and sends, waiting for the transaction to land. When the node does
    /// not know the blockhash (expired, or from another chain), the transaction cannot land: it
    /// is signed again with the latest blockhash and sent once more. Returns the signature and
    /// how many times it was re-signed. A transaction that may have landed is never re-sent.
    pub async fn send_with_blockhash(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        opts: &SendOptions,
        blockhash: solana_hash::Hash,
    ) -> ChainResult<(String, u32)> {
        let payer = signers.first().ok_or_else(|| ChainError::Transport("no signer to pay the fee".into()))?;
        let ixs = with_budget(ixs, opts);
        let mut bh = blockhash;
        let mut resigned = 0;
        loop {
            let tx = Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), signers, bh);
            match self.client.send_and_confirm_transaction(&tx).await.map_err(classify) {
                Ok(sig) => return Ok((sig.to_string(), resigned)),
                Err(e) if e.reason() == "BlockhashNotFound" && resigned < 2 => {
                    resigned += 1;
                    tracing::warn!(target: "rpc", error = "BlockhashNotFound", blockhash = %bh, "the node does not know the blockhash (expired?); signing again with the latest");
                    bh = self.retrying(|| self.client.get_latest_blockhash()).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The program's accounts of one type (data-size and discriminator filters), with owner and
    /// lamports.
    pub async fn program_accounts_full(
        &self,
        discriminator: &[u8],
        data_len: usize,
    ) -> ChainResult<Vec<(Pubkey, AccountData)>> {
        Ok(self.program_accounts_at(discriminator, data_len).await?.1)
    }

    /// [`Self::program_accounts_full`] with the slot the node read them at (`withContext`), so a
    /// cache can merge them with notifications by slot. A node that answers without a context is
    /// an error (a cache cannot merge what it cannot place: it stays not live, reads go to
    /// JSON-RPC).
    pub async fn program_accounts_at(
        &self,
        discriminator: &[u8],
        data_len: usize,
    ) -> ChainResult<(u64, Vec<(Pubkey, AccountData)>)> {
        let config = RpcProgramAccountsConfig {
            filters: Some(program_filters(discriminator, data_len)),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.client.commitment()),
                ..Default::default()
            },
            with_context: Some(true),
            ..Default::default()
        };
        let params = serde_json::json!([perp::ID.to_string(), config]);
        let r = self
            .retrying(|| {
                self.client
                    .send::<OptionalContext<Vec<RpcKeyedAccount>>>(RpcRequest::GetProgramAccounts, params.clone())
            })
            .await?;
        let (slot, keyed) = match r {
            OptionalContext::Context(r) => (r.context.slot, r.value),
            OptionalContext::NoContext(_) => {
                return Err(ChainError::Transport("getProgramAccounts answered without a context slot".into()))
            }
        };
        let accounts = keyed
            .into_iter()
            .map(|RpcKeyedAccount { pubkey, account: a }| {
                let k: Pubkey = pubkey.parse().map_err(|_| ChainError::Account(format!("bad pubkey {pubkey}")))?;
                let data =
                    a.data.decode().ok_or_else(|| ChainError::Account(format!("account {k}: undecodable data")))?;
                let owner = a.owner.parse().map_err(|_| ChainError::Account(format!("account {k}: bad owner")))?;
                Ok((k, AccountData { owner, lamports: a.lamports, data }))
            })
            .collect::<ChainResult<Vec<_>>>()?;
        Ok((slot, accounts))
    }

    /// `getMultipleAccounts` (100 a request) with the slot the node read them at: the lowest
    /// context slot of the requests. With more than 100 keys the later requests may have read at
    /// a newer slot; a cache then lets a notification between the two slots win, which the next
    /// notification or resync of that account corrects (labelling them newer than they were
    /// read could hide a newer state for good).
    pub async fn accounts_at(&self, keys: &[Pubkey]) -> ChainResult<(u64, Vec<Option<AccountData>>)> {
        let mut out = Vec::with_capacity(keys.len());
        let mut slot = u64::MAX;
        for chunk in keys.chunks(100) {
            let c = self.client.commitment();
            let r = self.retrying(|| self.client.get_multiple_accounts_with_commitment(chunk, c)).await?;
            slot = slot.min(r.context.slot);
            out.extend(
                r.value
                    .into_iter()
                    .map(|a| a.map(|a| AccountData { owner: a.owner, lamports: a.lamports, data: a.data })),
            );
        }
        Ok((if keys.is_empty() { 0 } else { slot }, out))
    }

    /// Asks the node's faucet for `lamports` (local clusters and devnet) and waits up to 30 s for
    /// the airdrop to be confirmed.
    pub async fn airdrop(&self, to: &Pubkey, lamports: u64) -> ChainResult<String> {
        let sig = self.retrying(|| self.client.request_airdrop(to, lamports)).await?;
        for _ in 0..60 {
            if self.retrying(|| self.client.confirm_transaction(&sig)).await? {
                return Ok(sig.to_string());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(ChainError::Transport(format!("airdrop {sig} not confirmed within 30 s")))
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
        Ok(self.accounts_at(keys).await?.1)
    }

    async fn program_accounts(&self, discriminator: &[u8], data_len: usize) -> ChainResult<Vec<(Pubkey, Vec<u8>)>> {
        Ok(self.program_accounts_full(discriminator, data_len).await?.into_iter().map(|(k, a)| (k, a.data)).collect())
    }

    async fn send(&self, ixs: &[Instruction], signers: &[&Keypair], opts: &SendOptions) -> ChainResult<String> {
        let bh = self.retrying(|| self.client.get_latest_blockhash()).await?;
        self.send_with_blockhash(ixs, signers, opts, bh).await.map(|(sig, _)| sig)
    }

    async fn unix_time(&self) -> ChainResult<i64> {
        // the Clock sysvar: slot u64, epoch_start_timestamp i64, epoch u64, leader_schedule_epoch u64, unix_timestamp i64
        let clock = anchor_lang::pubkey!("SysvarC1ock11111111111111111111111111111111");
        let a = self.account(&clock).await?.ok_or_else(|| ChainError::Account("clock sysvar missing".into()))?;
        let d = a.data.get(32..40).ok_or_else(|| ChainError::Account("clock sysvar too short".into()))?;
        Ok(i64::from_le_bytes(d.try_into().unwrap()))
    }
}

#[cfg(test)]
mod loopback_tests {
    #[test]
    fn crafted_urls_are_not_loopback() {
        for url in [
            "http://evil.example?@127.0.0.1:8899",
            "http://evil.example#@127.0.0.1:8899",
            "http://evil.example\\@127.0.0.1:8899",
            "http://user@127.0.0.1:8899",
            "http://127.0.0.1.evil.example:8899",
        ] {
            assert!(!super::is_loopback_url(url), "{url}");
        }
        for url in ["http://127.0.0.1:8899", "http://localhost:8899/", "ws://[::1]:8900", "http://127.0.0.1:8899?x=1"] {
            assert!(super::is_loopback_url(url), "{url}");
        }
    }
}
