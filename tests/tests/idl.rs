//! The committed IDL (`idl/perp.json`) is the program's interface as the code declares it.
//!
//! Built the way `anchor idl build` does it, without the SBF toolchain: anchor-lang-idl's
//! `IdlBuilder` runs the program's `__anchor_private_print_idl` test with the `idl-build`
//! feature and assembles the printed program, errors, address and events (with their types),
//! converts module paths to names and sorts. A stale file fails this test; regenerate it with
//! `PERP_IDL_WRITE=1 cargo test -p perp-tests --test idl` (or `scripts/idl`).

use std::path::PathBuf;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn idl_is_fresh() {
    if perp_client::bank::sbf_dir().is_some() {
        // the IDL is the same whatever runs the program; the SBF pass need not rebuild it
        return;
    }
    let root = repo_root();
    // The nested cargo gets its own target directory: the outer `cargo test` holds the build lock
    // of the main one, and IdlBuilder sets RUSTFLAGS (which would invalidate the main cache).
    let main_target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    std::env::set_var("CARGO_TARGET_DIR", main_target.join("idl-build"));
    // rustup exports RUSTUP_TOOLCHAIN to the processes it starts; IdlBuilder 0.1.4 then passes a
    // literal `+{toolchain}` to cargo (a bug upstream). The toolchain in use is the default one.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    let idl = anchor_lang_idl::build::IdlBuilder::new()
        .program_path(root.join("programs/perp"))
        .resolution(true)
        .skip_lint(true)
        .no_docs(false)
        // the IDL build only prints: nothing in it needs optimising
        .cargo_args(
            [
                "--lib",
                "--locked",
                "--config",
                "profile.dev.package.\"*\".opt-level=0",
                "--config",
                "profile.dev.debug=false",
            ]
            .map(String::from)
            .to_vec(),
        )
        .build()
        .expect("building the IDL");
    let fresh = serde_json::to_string_pretty(&idl).unwrap() + "\n";

    assert_eq!(idl.metadata.name, "perp");
    assert_eq!(idl.address, perp::ID.to_string());
    // every instruction, account type, event and error of the program is in it
    for name in ["place_market_order", "liquidate", "auto_deleverage", "repeg", "withdraw"] {
        assert!(idl.instructions.iter().any(|i| i.name == name), "instruction {name} missing");
    }
    for name in ["Exchange", "Market", "MarginAccount", "AdlRound"] {
        assert!(idl.accounts.iter().any(|a| a.name == name), "account {name} missing");
        assert!(idl.types.iter().any(|t| t.name == name), "type {name} missing");
    }
    assert!(idl.events.len() >= 25, "{} events", idl.events.len());
    assert!(idl.errors.len() >= 50, "{} errors", idl.errors.len());
    // names are plain (module paths converted); docs may mention paths
    let names = idl.types.iter().map(|t| &t.name).chain(idl.events.iter().map(|e| &e.name));
    for name in names {
        assert!(!name.contains("::"), "a module path survived in the IDL: {name}");
    }

    let path = root.join("idl/perp.json");
    if std::env::var_os("PERP_IDL_WRITE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first = committed.lines().zip(fresh.lines()).position(|(a, b)| a != b);
        panic!(
            "idl/perp.json is stale (first difference at line {:?}); regenerate it with \
             `PERP_IDL_WRITE=1 cargo test -p perp-tests --test idl` and commit it",
            first.map(|l| l + 1)
        );
    }
}
