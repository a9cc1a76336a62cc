//! `perp localnet` refuses bad input with a clear message before it starts anything (no node is
//! needed for these); `keygen` writes a usable keypair and never overwrites one.

use std::process::Command;

fn perp(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perp")).args(args).output().expect("run perp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn mainnet_config() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/mainnet-btc.json").display().to_string()
}

#[test]
fn localnet_bad_input_is_refused_with_a_reason() {
    let missing = std::env::temp_dir().join(format!("no-validator-{}", std::process::id()));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["localnet".into(), "start".into(), "--feed".into(), "bogus".into()], "--feed bogus"),
        (vec!["localnet".into(), "start".into(), "--speed".into(), "0".into()], "--speed"),
        (
            vec!["localnet".into(), "start".into(), "--validator".into(), missing.display().to_string()],
            "validator binary",
        ),
        (vec!["localnet".into(), "price".into(), "--price".into(), "0".into()], "--price must be positive"),
        (vec!["localnet".into(), "price".into(), "--price".into(), "abc".into()], "--price"),
        (
            vec!["localnet".into(), "price".into(), "--price".into(), "100".into(), "--market".into(), "9".into()],
            "no such market",
        ),
        (vec!["localnet".into(), "faucet".into(), "--to".into(), "nope".into()], "not a public key"),
        (
            vec![
                "localnet".into(),
                "faucet".into(),
                "--to".into(),
                "11111111111111111111111111111111".into(),
                "--usdc=-5".into(),
            ],
            "--usdc must not be negative",
        ),
        (vec!["localnet".into(), "start".into(), "--config".into(), mainnet_config()], "must be the localnet mint"),
    ];
    for (args, want) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = perp(&a);
        assert_eq!(code, 2, "{a:?}: {err}");
        assert!(err.contains(want), "{a:?}: wanted '{want}' in: {err}");
        assert_eq!(err.lines().count(), 1, "{a:?}: one line: {err}");
    }
}

#[test]
fn keygen_writes_a_keypair_and_never_overwrites() {
    let f = std::env::temp_dir().join(format!("perp-keygen-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&f);
    let (code, out, err) = perp(&["--json", "localnet", "keygen", "--out", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let kp = solana_keypair::read_keypair_file(&f).unwrap();
    assert_eq!(v["pubkey"].as_str().unwrap(), solana_signer::Signer::pubkey(&kp).to_string());
    let before = std::fs::read(&f).unwrap();
    let (code, _, err) = perp(&["localnet", "keygen", "--out", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not overwritten"), "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), before);
    std::fs::remove_file(&f).unwrap();
}
