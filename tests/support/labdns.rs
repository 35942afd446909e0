//! A real, authoritative DNS server on 127.0.0.1 for the tests, `make demo` and
//! the DNS benchmark, built on `hickory-server`.
//!
//! It owns loading a folder of zone files (plus `lab.conf`, the behaviours no
//! zone file can express: SERVFAIL, REFUSED, never answering) and serving them
//! over UDP and TCP on one loopback port from a background thread. It knows
//! nothing about listclean: what each name means to the cleaner is written in
//! `tests/dns/README.md`, and checking answers is left to the tests.
//!
//! The integration tests reach it as `support::labdns`; `examples/labdns.rs`
//! includes this file with `#[path]`.

// This file is compiled into several crates (the test binary, the example),
// each of which uses only part of it.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::{LowerName, Name, RecordType};
use hickory_server::proto::serialize::txt::Parser;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use tokio::sync::oneshot;

/// What to serve and how slowly.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// Folder holding `*.zone` master files and an optional `lab.conf`.
    ///
    /// A zone's origin is its file name without `.zone` (`co.jp.zone` serves
    /// `co.jp.`) unless the file sets `$ORIGIN`; either way the zone is the one
    /// its SOA record names, and every zone must have exactly one SOA.
    pub zones: PathBuf,
    /// Time added before every answer, to make loopback behave like the
    /// internet. Queries wait concurrently, so it adds latency, not a queue.
    /// Use zero in tests.
    pub delay: Duration,
}

/// A DNS server running on `127.0.0.1` in a background thread with its own
/// tokio runtime; it stops when dropped.
///
/// It answers authoritatively for every zone in [`LabConfig::zones`]
/// (recursion-desired queries included; it never recurses): NXDOMAIN with the
/// SOA for a missing name under a zone, NOERROR with no data and the SOA for
/// a name without records of the asked type, the CNAME plus the records it
/// leads to when the target is in the same zone, and REFUSED for names
/// outside every zone. `lab.conf` overrides this per name.
#[derive(Debug)]
pub struct LabDns {
    addr: SocketAddr,
    queries: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LabDns {
    /// Loads the zones, binds UDP and TCP on the same free port of
    /// `127.0.0.1` and starts serving. Returns once the server is answering.
    ///
    /// # Errors
    ///
    /// When the folder or a file in it cannot be read, a zone file does not
    /// parse or lacks a single SOA, two files serve the same zone, `lab.conf`
    /// has a line that is not `servfail|refused|timeout NAME`, no port is
    /// free for both UDP and TCP, or the runtime cannot start.
    pub fn start(config: LabConfig) -> io::Result<LabDns> {
        let catalog = load_zones(&config.zones)?;
        let rules = load_rules(&config.zones.join("lab.conf"))?;
        let (udp, tcp) = bind_loopback_pair()?;
        let addr = udp.local_addr()?;
        let queries = Arc::new(AtomicU64::new(0));
        let handler = LabHandler {
            catalog,
            rules,
            delay: config.delay,
            queries: Arc::clone(&queries),
        };

        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("labdns-{}", addr.port()))
            .spawn(move || serve(handler, udp, tcp, ready_tx, stop_rx))?;

        match ready_rx.recv() {
            Ok(Ok(())) => Ok(LabDns {
                addr,
                queries,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(error)) => {
                // The thread has already returned; joining only reaps it.
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other(
                    "the lab DNS server thread stopped before it was ready",
                ))
            }
        }
    }

    /// The address to point a resolver at (UDP and TCP), e.g. `127.0.0.1:40123`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries received so far, answered or not (`timeout` names count too).
    ///
    /// Lets a test prove that a run served from a cache sent no lookups.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for LabDns {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error means the server already stopped, which is the goal.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic in the server thread must not turn into a second panic
            // here (that would abort the test run and hide the first one).
            let _ = thread.join();
        }
    }
}

/// A UDP socket on `127.0.0.1` that receives queries and never answers: a
/// resolver pointed at its address times out. Keep the socket alive for as
/// long as it should stay silent; once it is dropped the port is closed and a
/// resolver gets "connection refused" instead.
///
/// # Errors
///
/// When no UDP port can be bound on loopback.
pub fn silent_socket() -> io::Result<(UdpSocket, SocketAddr)> {
    let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?;
    let addr = socket.local_addr()?;
    Ok((socket, addr))
}

/// What `lab.conf` can ask for a name and its subdomains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    ServFail,
    Refused,
    /// Drop the query: no answer at all, so the client times out.
    Timeout,
}

/// The request handler: counts, applies `lab.conf`, waits `delay`, then lets
/// hickory's `Catalog` answer from the zones.
struct LabHandler {
    catalog: Catalog,
    rules: Vec<(LowerName, Behaviour)>,
    delay: Duration,
    queries: Arc<AtomicU64>,
}

impl LabHandler {
    /// The behaviour of the most specific rule covering `name`, so that a rule
    /// for `a.example.com` can override one for `example.com`.
    fn behaviour(&self, name: &LowerName) -> Option<Behaviour> {
        self.rules
            .iter()
            .filter(|(rule, _)| rule.zone_of(name))
            .max_by_key(|(rule, _)| rule.num_labels())
            .map(|&(_, behaviour)| behaviour)
    }

    async fn answer<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.queries.fetch_add(1, Ordering::SeqCst);

        // A request without exactly one query has no name to match; the
        // catalog answers it (FORMERR).
        let behaviour = request
            .request_info()
            .ok()
            .and_then(|info| self.behaviour(info.query.name()));
        if behaviour == Some(Behaviour::Timeout) {
            return unanswered(request);
        }

        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }

        let code = match behaviour {
            Some(Behaviour::ServFail) => ResponseCode::ServFail,
            Some(Behaviour::Refused) => ResponseCode::Refused,
            Some(Behaviour::Timeout) | None => {
                return self
                    .catalog
                    .handle_request::<R, T>(request, response_handle)
                    .await;
            }
        };
        let response =
            MessageResponseBuilder::new(&request.queries, None).error_msg(&request.metadata, code);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            // The server only logs this value; a failed send is an unanswered query.
            Err(_) => unanswered(request),
        }
    }
}

// `RequestHandler` is declared with `#[async_trait]`. Rather than adding the
// `async-trait` crate to the dev-dependencies for one impl, this is the
// signature that macro generates, with the work in `LabHandler::answer`.
impl RequestHandler for LabHandler {
    fn handle_request<'life0, 'life1, 'async_trait, R, T>(
        &'life0 self,
        request: &'life1 Request,
        response_handle: R,
    ) -> Pin<Box<dyn Future<Output = ResponseInfo> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        R: ResponseHandler + 'async_trait,
        T: Time + 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.answer::<R, T>(request, response_handle))
    }
}

/// The `ResponseInfo` the server expects back for a query that got no answer.
fn unanswered(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

/// Reads every `*.zone` file in `dir` into a catalog of primary zones.
fn load_zones(dir: &Path) -> io::Result<Catalog> {
    let context = |error: io::Error| {
        io::Error::new(
            error.kind(),
            format!("reading the zone folder {}: {error}", dir.display()),
        )
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(context)? {
        let path = entry.map_err(context)?.path();
        if path.extension().is_some_and(|ext| ext == "zone") && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no *.zone files in {}", dir.display()),
        ));
    }
    // Sorted so that an error always names the same file.
    paths.sort();

    let mut catalog = Catalog::new();
    for path in paths {
        let (origin, handler) = load_zone(&path)?;
        let key = LowerName::new(&origin);
        if catalog.contains(&key) {
            return Err(invalid_data(format!(
                "{}: zone {origin} is already served by another file",
                path.display()
            )));
        }
        catalog.upsert(key, vec![Arc::new(handler)]);
    }
    Ok(catalog)
}

/// Parses one master file; the origin it starts from is the file name.
fn load_zone(path: &Path) -> io::Result<(Name, InMemoryZoneHandler)> {
    let text = fs::read_to_string(path).map_err(|error| {
        io::Error::new(error.kind(), format!("reading {}: {error}", path.display()))
    })?;
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .ok_or_else(|| invalid_data(format!("{}: the file name is not UTF-8", path.display())))?;
    let mut file_origin = Name::from_ascii(stem).map_err(|error| {
        invalid_data(format!(
            "{}: the file name is not a domain name: {error}",
            path.display()
        ))
    })?;
    file_origin.set_fqdn(true);

    let (_, records) = Parser::new(text, Some(path.to_owned()), Some(file_origin))
        .parse()
        .map_err(|error| invalid_data(format!("parsing {}: {error}", path.display())))?;

    // The SOA owner is the zone apex whatever `$ORIGIN` lines did along the way.
    let mut soas = records
        .keys()
        .filter(|key| key.record_type == RecordType::SOA);
    let origin = match (soas.next(), soas.next()) {
        (Some(key), None) => Name::from(key.name.clone()),
        _ => {
            return Err(invalid_data(format!(
                "{}: a zone needs exactly one SOA record",
                path.display()
            )));
        }
    };

    let handler =
        InMemoryZoneHandler::new(origin.clone(), records, ZoneType::Primary, AxfrPolicy::Deny)
            .map_err(|error| invalid_data(format!("loading {}: {error}", path.display())))?;
    Ok((origin, handler))
}

/// Reads `lab.conf`; a missing file means no special behaviours.
fn load_rules(path: &Path) -> io::Result<Vec<(LowerName, Behaviour)>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(io::Error::new(
                error.kind(),
                format!("reading {}: {error}", path.display()),
            ));
        }
    };

    let mut rules = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().collect();
        let bad = |what: String| invalid_data(format!("{}:{}: {what}", path.display(), index + 1));
        let (verb, name) = match words.as_slice() {
            [] => continue,
            [verb, name] => (*verb, *name),
            _ => {
                return Err(bad(format!(
                    "expected `VERB NAME`, found `{}`",
                    line.trim()
                )));
            }
        };
        let behaviour = match verb {
            "servfail" => Behaviour::ServFail,
            "refused" => Behaviour::Refused,
            "timeout" => Behaviour::Timeout,
            _ => {
                return Err(bad(format!(
                    "unknown behaviour `{verb}` (servfail, refused or timeout)"
                )));
            }
        };
        let mut name = Name::from_ascii(name)
            .map_err(|error| bad(format!("`{name}` is not a domain name: {error}")))?;
        name.set_fqdn(true);
        rules.push((LowerName::new(&name), behaviour));
    }
    Ok(rules)
}

/// Binds UDP and TCP on one free port of `127.0.0.1`, so that a resolver that
/// falls back to TCP (truncated answers) finds the same server.
fn bind_loopback_pair() -> io::Result<(UdpSocket, TcpListener)> {
    // The port the kernel picks for UDP may be taken for TCP; a few tries make
    // that race practically impossible to lose.
    let mut last_error = None;
    for _ in 0..16 {
        let udp = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?;
        let addr = udp.local_addr()?;
        match TcpListener::bind(addr) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free loopback port")))
}

/// The body of the server thread: runs until `stop` fires or its sender is
/// dropped, reporting start-up success or failure on `ready` first.
fn serve(
    handler: LabHandler,
    udp: UdpSocket,
    tcp: TcpListener,
    ready: mpsc::Sender<io::Result<()>>,
    stop: oneshot::Receiver<()>,
) {
    // The runtime lives and dies on this thread, so `LabDns` can be created
    // and dropped from inside another tokio runtime (e.g. `#[tokio::test]`).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("labdns-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };

    runtime.block_on(async move {
        let sockets = udp.set_nonblocking(true).and_then(|()| {
            tcp.set_nonblocking(true)?;
            Ok((
                tokio::net::UdpSocket::from_std(udp)?,
                tokio::net::TcpListener::from_std(tcp)?,
            ))
        });
        let (udp, tcp) = match sockets {
            Ok(sockets) => sockets,
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };

        let mut server = Server::new(handler);
        server.register_socket(udp);
        // 10 s idle timeout per TCP connection and hickory's usual buffer of 32
        // responses; TCP only carries the rare truncated answer here.
        server.register_listener(tcp, Duration::from_secs(10), 32);
        let _ = ready.send(Ok(()));

        // Either a stop message or a dropped sender means stop.
        let _ = stop.await;
        // Errors here are sockets failing while shutting down; nobody is left
        // to tell.
        let _ = server.shutdown_gracefully().await;
    });
    // Bounded so that a stuck task cannot hang the test that dropped `LabDns`.
    runtime.shutdown_timeout(Duration::from_secs(1));
}

fn invalid_data(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
