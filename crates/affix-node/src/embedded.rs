//! A single-authority ledger run inside the calling process: the signing platform's
//! default when no consortium is configured ("a single-node ledger in process, no
//! external service").
//!
//! It is an ordinary consortium of one ([`crate::devnet`] layout, quorum 1): the same
//! node code — consensus (simplex with one participant), durable log, checkpoint
//! signing, HTTP API — on background threads of this process, reached over loopback HTTP
//! with the same [`LedgerClient`] a real consortium is. Its receipts are ordinary
//! receipts, checked with the `verifier-keys` file it writes (`affix verify-receipt
//! --keys DIR/verifier-keys`). Moving to a real consortium later means a new log: the
//! embedded one's receipts stay valid under its own key.
//!
//! The node installs nothing process-wide (see [`crate::run`]): the embedding process
//! keeps its signal handling, its tracing subscriber (which receives the node's events)
//! and its exit code. It adds a thread running a two-worker tokio runtime.
//!
//! ```no_run
//! # fn example(record: Vec<u8>) -> Result<(), affix_node::Error> {
//! use affix_node::embedded::EmbeddedLedger;
//!
//! let ledger = EmbeddedLedger::start("var/ledger".as_ref(), "ledger.example.com/v1")?;
//! let client = ledger.client(); // async: use it from the platform's runtime
//! // ... client.submit(&record).await?, client.receipt(&leaf_hash, wait).await? ...
//! ledger.stop()?;
//! # Ok(()) }
//! ```

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use affix_note::Origin;

use crate::Error;
use crate::client::LedgerClient;
use crate::config::NodeConfig;
use crate::devnet::{self, Flavour};
use crate::engine::Timing;
use crate::run::{RunOptions, run_until};

/// Longest [`EmbeddedLedger::start`] waits for the node's HTTP API to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running single-authority ledger. Dropping it stops the node (like
/// [`EmbeddedLedger::stop`], discarding the result).
#[derive(Debug)]
pub struct EmbeddedLedger {
    dir: PathBuf,
    url: String,
    client: LedgerClient,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl EmbeddedLedger {
    /// Starts the ledger of log `origin` kept in `dir`. The first start writes a
    /// one-authority consortium there (genesis, node configuration, keys with mode 0600,
    /// `verifier-keys`); later starts reuse it and the log it holds, and fail if `dir`
    /// holds another origin or more than one authority. HTTP listens on the loopback port
    /// of the configuration, or on any free one if that is taken.
    ///
    /// Blocks until the node's HTTP API answers, at most [`START_TIMEOUT`]; call it before
    /// entering an async runtime or from a blocking task. Only one ledger can run from a
    /// directory at a time (the log is locked).
    pub fn start(dir: &Path, origin: &str) -> Result<Self, Error> {
        let started = Instant::now();
        let (nodes, genesis) = devnet::init_flavour(dir, 1, origin, Flavour::Embedded)?;
        if genesis.origin().as_str() != origin {
            return Err(Error::Config(format!(
                "{} holds the ledger of {}, not {origin}",
                dir.display(),
                genesis.origin()
            )));
        }
        let [node] = nodes.as_slice() else {
            return Err(Error::Config(format!(
                "{} holds a consortium of {} authorities; an embedded ledger is one",
                dir.display(),
                nodes.len()
            )));
        };
        let mut config = NodeConfig::load(&node.config)?;
        let listener = TcpListener::bind(config.http_listen)
            .or_else(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .map_err(Error::io("bind", Path::new("127.0.0.1:0")))?;
        let http_addr = listener
            .local_addr()
            .map_err(Error::io("bind", Path::new("127.0.0.1:0")))?;
        config.http_listen = http_addr;
        // Nobody dials the only authority of a consortium: its consensus port can be any
        // free one, so a port taken by someone else since the last start is no obstacle.
        config.p2p_listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let url = format!("http://{http_addr}");
        let client = LedgerClient::new_direct(vec![url.clone()], &genesis.verifier_keys_file())?;

        let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<()>(1);
        let options = RunOptions {
            http_listener: Some(listener),
            timing: Timing::default(),
            on_ready: Some(Box::new(move |_| {
                let _ = ready_tx.send(());
            })),
        };
        let thread = std::thread::Builder::new()
            .name("affix-embedded-ledger".into())
            .spawn(move || {
                run_until(config, options, async {
                    // A dropped sender stops the node too.
                    let _ = stop_rx.await;
                })
            })
            .map_err(Error::io("start a thread for", dir))?;
        let mut ledger = Self {
            dir: dir.to_owned(),
            url,
            client,
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        let deadline = started + START_TIMEOUT;
        match ready_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(()) => {}
            // The node ended before it was ready: its result says why.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(ledger.shut_down().err().unwrap_or_else(|| {
                    Error::Fatal("the embedded ledger stopped while starting".into())
                }));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(Error::NotReady {
                    waited_ms: millis(started.elapsed()),
                });
            }
        }
        if !http_answers(http_addr, deadline) {
            return Err(Error::NotReady {
                waited_ms: millis(started.elapsed()),
            });
        }
        tracing::info!(url = %ledger.url, dir = %dir.display(), elapsed_ms = millis(started.elapsed()), "embedded ledger started");
        Ok(ledger)
    }

    /// The node's base URL (`http://127.0.0.1:<port>`); other processes on this host can
    /// use it too, for instance `affix submit --node`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The verifier keys file: what anyone needs to verify this ledger's receipts
    /// (also in `dir/verifier-keys`).
    pub fn verifier_keys_text(&self) -> String {
        self.client.verifier_keys_text().to_owned()
    }

    /// The log's origin.
    pub fn origin(&self) -> &Origin {
        self.client.origin()
    }

    /// The directory the ledger lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A client of this ledger (no HTTP proxy; cheap to clone).
    pub fn client(&self) -> LedgerClient {
        self.client.clone()
    }

    /// Whether the node is still running (false after a fatal error; [`stop`] then
    /// returns it).
    ///
    /// [`stop`]: EmbeddedLedger::stop
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the node and waits until its tasks have ended and its files are closed (a
    /// new [`EmbeddedLedger::start`] on the same directory may follow). Returns the
    /// fatal error that stopped it earlier, if one did. Blocks (briefly): do not call it
    /// on an async runtime's worker.
    pub fn stop(mut self) -> Result<(), Error> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(Error::Fatal("the embedded ledger's thread panicked".into())),
        }
    }
}

impl Drop for EmbeddedLedger {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            tracing::error!(error = %e, "the embedded ledger had stopped with an error");
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whether `GET /v1/status` answers 200 before `deadline` (a plain HTTP/1.1 exchange over
/// a blocking socket: no async runtime needed, so `start` works from any thread).
fn http_answers(addr: SocketAddr, deadline: Instant) -> bool {
    let step = Duration::from_secs(1);
    loop {
        let attempt = || -> std::io::Result<bool> {
            let mut stream = TcpStream::connect_timeout(&addr, step)?;
            stream.set_read_timeout(Some(step))?;
            stream.set_write_timeout(Some(step))?;
            stream.write_all(
                format!("GET /v1/status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head)?;
            Ok(&head == b"HTTP/1.1 200")
        };
        if attempt().unwrap_or(false) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
