//! The two functions of `protobuf-src` 1.1 that agave's build scripts call (only when `PROTOC`
//! is not set): the path of the protocol-buffer compiler and of its include directory. Here they
//! are Debian's (`apt-get install protobuf-compiler`, which `scripts/localnet` does when missing),
//! not a copy built from source. `PROTOC` / `PROTOC_INCLUDE` at build time override them.

use std::path::PathBuf;

pub fn protoc() -> PathBuf {
    PathBuf::from(option_env!("PROTOC").unwrap_or("/usr/bin/protoc"))
}

pub fn include() -> PathBuf {
    PathBuf::from(option_env!("PROTOC_INCLUDE").unwrap_or("/usr/include"))
}
