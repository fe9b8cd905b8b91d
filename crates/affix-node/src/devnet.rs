//! Local consortia on loopback: the files `affix devnet` runs as separate processes and
//! [`crate::embedded::EmbeddedLedger`] runs in process.
//!
//! ```text
//! DIR/genesis.toml                 the consortium (written last, atomically: the commit point)
//! DIR/<name>/consensus.key         64 hex digits, Ed25519 consensus seed (mode 0600)
//! DIR/<name>/note.key              note signer key (mode 0600)
//! DIR/<name>/node.toml             node configuration (see [`crate::config`])
//! DIR/<name>/data/                 the node's log, consensus journal, certificates
//! DIR/verifier-keys                the verifier keys file (see [`affix_note::VerifierKeysFile`])
//! DIR/nodes                        the nodes' HTTP URLs, one a line
//! ```
//!
//! Keys come from the operating system's random source; ports are free loopback ports
//! at the time of writing.

use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use affix_ledger::Genesis;
use affix_note::{KeyName, NoteSigner as _, Origin, SignerKey};
use rand_core::Rng as _;
use zeroize::Zeroizing;

use crate::Error;

/// Names and roles given to the first authorities, in order.
const ROLES: [(&str, &str); 4] = [
    ("operator", "operator"),
    ("notary", "notary"),
    ("arbitration", "arbitration"),
    ("appraisal", "appraisal"),
];

/// Most authorities in a local consortium.
pub const MAX_DEVNET_NODES: usize = 16;

/// One authority of a local consortium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetNode {
    /// The authority's name in the genesis.
    pub name: String,
    /// Its node configuration file.
    pub config: PathBuf,
    /// Its HTTP URL, as the genesis states it.
    pub url: String,
}

/// What kind of local consortium to write: it shows in the genesis comment and in the
/// note key names, which every receipt carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flavour {
    /// `affix devnet`: keys named `<authority>.devnet.affix.local`.
    Devnet,
    /// An embedded single-authority ledger: keys named `<authority>.embedded.affix.local`.
    Embedded,
}

impl Flavour {
    fn comment(self) -> &'static str {
        match self {
            Flavour::Devnet => "# Affix devnet consortium",
            Flavour::Embedded => "# Affix embedded single-authority ledger",
        }
    }

    fn key_domain(self) -> &'static str {
        match self {
            Flavour::Devnet => "devnet.affix.local",
            Flavour::Embedded => "embedded.affix.local",
        }
    }
}

/// Writes a local consortium of `n` authorities under `dir` for log `origin`, unless
/// `dir/genesis.toml` exists already, in which case that consortium is reused as it is
/// (`n` and `origin` are then ignored). Either way `verifier-keys` and `nodes` are
/// (re)written from the genesis. Returns the authorities in genesis order.
pub fn init(dir: &Path, n: usize, origin: &str) -> Result<Vec<DevnetNode>, Error> {
    init_flavour(dir, n, origin, Flavour::Devnet).map(|(nodes, _)| nodes)
}

/// [`init`] for a given flavour; also returns the genesis.
pub(crate) fn init_flavour(
    dir: &Path,
    n: usize,
    origin: &str,
    flavour: Flavour,
) -> Result<(Vec<DevnetNode>, Genesis), Error> {
    let genesis_path = dir.join("genesis.toml");
    if !genesis_path.exists() {
        write_consortium(dir, n, origin, flavour)?;
    }
    let text = std::fs::read_to_string(&genesis_path).map_err(Error::io("read", &genesis_path))?;
    let genesis = Genesis::parse(&text)?;
    let keys_path = dir.join("verifier-keys");
    std::fs::write(&keys_path, genesis.verifier_keys_file())
        .map_err(Error::io("write", &keys_path))?;
    let nodes: Vec<DevnetNode> = genesis
        .authorities()
        .iter()
        .map(|a| DevnetNode {
            name: a.name.clone(),
            config: dir.join(&a.name).join("node.toml"),
            url: a.http.clone(),
        })
        .collect();
    let nodes_path = dir.join("nodes");
    std::fs::write(
        &nodes_path,
        nodes
            .iter()
            .map(|n| format!("{}\n", n.url))
            .collect::<String>(),
    )
    .map_err(Error::io("write", &nodes_path))?;
    Ok((nodes, genesis))
}

fn write_consortium(dir: &Path, n: usize, origin: &str, flavour: Flavour) -> Result<(), Error> {
    if !(1..=MAX_DEVNET_NODES).contains(&n) {
        return Err(Error::Config(format!(
            "a local consortium has 1 to {MAX_DEVNET_NODES} nodes"
        )));
    }
    Origin::new(origin).map_err(|e| Error::Config(format!("invalid origin {origin:?}: {e}")))?;
    std::fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
    let mut genesis = format!("{}\norigin = \"{origin}\"\n", flavour.comment());
    for i in 0..n {
        let (name, role) = ROLES.get(i).map_or_else(
            || (format!("authority-{i}"), "other".to_owned()),
            |(n, r)| ((*n).to_owned(), (*r).to_owned()),
        );
        let node_dir = dir.join(&name);
        if node_dir.join("consensus.key").exists() {
            // Keys without a genesis: an earlier initialization stopped half way. Those
            // keys never signed anything, but we do not delete key files on our own.
            return Err(Error::Config(format!(
                "{} holds keys but no genesis.toml (an earlier initialization was interrupted); remove {} and start again",
                dir.display(),
                dir.display()
            )));
        }
        std::fs::create_dir_all(&node_dir).map_err(Error::io("create directory", &node_dir))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        // `sys_rng` panics only if the OS cannot supply randomness at all; the node's
        // runtime draws from the same source when it starts.
        commonware_utils::sys_rng().fill_bytes(seed.as_mut_slice());
        write_secret(
            &node_dir.join("consensus.key"),
            &format!("{}\n", hex::encode(seed.as_slice())),
        )?;
        let consensus_public = crate::run::consensus_public_hex(&seed)?;
        commonware_utils::sys_rng().fill_bytes(seed.as_mut_slice());
        let key_name = format!("{name}.{}", flavour.key_domain());
        let note_key = SignerKey::ed25519_from_seed(
            KeyName::new(&key_name)
                .map_err(|e| Error::Config(format!("key name {key_name}: {e}")))?,
            &seed,
        );
        let mut note_text = note_key.to_secret_string();
        note_text.push('\n');
        write_secret(&node_dir.join("note.key"), &note_text)?;
        let (p2p, http) = (free_port()?, free_port()?);
        genesis.push_str(&format!(
            "\n[[authority]]\nname = \"{name}\"\nrole = \"{role}\"\nconsensus_key = \"{consensus_public}\"\nnote_key = \"{}\"\np2p = \"127.0.0.1:{p2p}\"\nhttp = \"http://127.0.0.1:{http}\"\n",
            note_key.verifier_key()
        ));
        let config = node_dir.join("node.toml");
        std::fs::write(
            &config,
            format!(
                "genesis = \"../genesis.toml\"\nname = \"{name}\"\nconsensus_key = \"consensus.key\"\nnote_key = \"note.key\"\ndata_dir = \"data\"\n"
            ),
        )
        .map_err(Error::io("write", &config))?;
    }
    // Check what we are about to commit to, then write it atomically: the genesis is
    // what later starts look for.
    Genesis::parse(&genesis)?;
    let tmp = dir.join("genesis.toml.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(Error::io("create", &tmp))?;
    f.write_all(genesis.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(Error::io("write", &tmp))?;
    let path = dir.join("genesis.toml");
    std::fs::rename(&tmp, &path).map_err(Error::io("rename to", &path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync", dir))?;
    Ok(())
}

/// A loopback port free right now.
pub(crate) fn free_port() -> Result<u16, Error> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(Error::io("bind", Path::new("127.0.0.1:0")))
}

/// Writes a new secret file with mode 0600, refusing to overwrite anything, fsync'd
/// with its directory.
fn write_secret(path: &Path, text: &str) -> Result<(), Error> {
    Ok(affix_seal::secret_file::create_new(path, text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn writes_once_then_reuses() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        let nodes = init(&dir, 2, "devnet.test/ledger").unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].name, "operator");
        for file in [
            "operator/consensus.key",
            "operator/note.key",
            "notary/note.key",
        ] {
            let mode = std::fs::metadata(dir.join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        let keys = std::fs::read_to_string(dir.join("verifier-keys")).unwrap();
        assert!(keys.starts_with("# Affix consortium devnet.test/ledger: receipts need 2 of"));
        assert!(keys.contains("operator.devnet.affix.local+"));
        // A second call reuses the consortium (other arguments are ignored).
        let again = init(&dir, 4, "other.test/ledger").unwrap();
        assert_eq!(again, nodes);
        crate::config::NodeConfig::load(&nodes[1].config).unwrap();
    }

    #[test]
    fn an_interrupted_initialization_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        init(&dir, 1, "devnet.test/ledger").unwrap();
        std::fs::remove_file(dir.join("genesis.toml")).unwrap();
        let err = init(&dir, 1, "devnet.test/ledger").unwrap_err();
        assert!(err.to_string().contains("interrupted"), "{err}");
        assert!(init(&tmp.path().join("x"), 0, "devnet.test/ledger").is_err());
        assert!(init(&tmp.path().join("y"), 1, "").is_err());
    }
}
