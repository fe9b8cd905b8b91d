//! The node configuration file.
//!
//! ```toml
//! genesis = "genesis.toml"                 # the consortium (relative to this file)
//! name = "notary"                          # which authority of the genesis this node is
//! consensus_key = "notary.consensus.key"   # 64 hex digits: Ed25519 secret seed (mode 0600)
//! note_key = "notary.note.key"             # PRIVATE+KEY+... note signer key (mode 0600)
//! data_dir = "data/notary"                 # log, consensus journal, certificates
//! http_listen = "127.0.0.1:8001"           # optional; default: the genesis http address
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use affix_ledger::Genesis;
use affix_note::SignerKey;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::Error;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    genesis: PathBuf,
    name: String,
    consensus_key: PathBuf,
    note_key: PathBuf,
    data_dir: PathBuf,
    http_listen: Option<SocketAddr>,
}

/// A loaded, checked node configuration.
pub struct NodeConfig {
    /// The consortium.
    pub genesis: Genesis,
    /// This authority's name.
    pub name: String,
    /// Ed25519 consensus secret seed.
    pub consensus_seed: Zeroizing<[u8; 32]>,
    /// Note signing key.
    pub note_key: SignerKey,
    /// Data directory.
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub http_listen: SocketAddr,
    /// Consensus listen address (from the genesis).
    pub p2p_listen: SocketAddr,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("data_dir", &self.data_dir)
            .field("http_listen", &self.http_listen)
            .field("p2p_listen", &self.p2p_listen)
            .finish_non_exhaustive()
    }
}

/// Largest key file read.
const KEY_FILE_BYTES_MAX: usize = 4096;

/// A key file that only its owner may access.
fn read_secret(path: &Path) -> Result<Zeroizing<String>, Error> {
    let bytes = affix_seal::secret_file::read_owner_only(path, KEY_FILE_BYTES_MAX)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Config(format!("{} is not a key file", path.display())))?;
    Ok(Zeroizing::new(text.to_owned()))
}

impl NodeConfig {
    /// Loads the configuration file and everything it names.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
        let file: ConfigFile =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        let genesis_path = resolve(&file.genesis);
        let genesis_text =
            std::fs::read_to_string(&genesis_path).map_err(Error::io("read", &genesis_path))?;
        let genesis = Genesis::parse(&genesis_text)?;
        let authority = genesis
            .authority(&file.name)
            .ok_or_else(|| {
                Error::Config(format!("{} is not an authority of the genesis", file.name))
            })?
            .clone();
        let seed_text = read_secret(&resolve(&file.consensus_key))?;
        let seed_bytes = Zeroizing::new(
            hex::decode(seed_text.trim())
                .map_err(|_| Error::Config("consensus key must be 64 hex digits".into()))?,
        );
        let mut consensus_seed = Zeroizing::new([0u8; 32]);
        if seed_bytes.len() != 32 {
            return Err(Error::Config("consensus key must be 64 hex digits".into()));
        }
        consensus_seed.copy_from_slice(&seed_bytes);
        let note_key = SignerKey::parse(read_secret(&resolve(&file.note_key))?.trim())?;
        let http_listen = match file.http_listen {
            Some(a) => a,
            None => authority
                .http
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|hostport| hostport.parse().ok())
                .ok_or_else(|| {
                    Error::Config("set http_listen: the genesis http URL is not ip:port".into())
                })?,
        };
        Ok(Self {
            p2p_listen: authority.p2p,
            genesis,
            name: file.name,
            consensus_seed,
            note_key,
            data_dir: resolve(&file.data_dir),
            http_listen,
        })
    }
}
