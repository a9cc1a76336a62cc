#!/usr/bin/env bash
# Build, deploy and initialise the perp program with the standard Solana toolchain.
#   CLUSTER=devnet CONFIG=migrations/mainnet-btc.json ./migrations/deploy.sh
# Needs: solana CLI, anchor CLI 1.2.2 (with platform-tools), a funded keypair at ~/.config/solana/id.json.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER="${CLUSTER:-devnet}"
CONFIG="${CONFIG:-migrations/mainnet-btc.json}"
case "$CLUSTER" in
  devnet) RPC=https://api.devnet.solana.com ;;
  mainnet) RPC=https://api.mainnet-beta.solana.com ;;
  localnet) RPC=http://127.0.0.1:8899 ;;
  *) RPC="$CLUSTER" ;;
esac
anchor keys sync                 # put this deployment's program id into declare_id! and Anchor.toml
anchor build                     # target/deploy/perp.so (SBF)
anchor deploy --provider.cluster "$RPC"
cargo run --release -p perp-cli -- --rpc "$RPC" admin init --config "$CONFIG"
