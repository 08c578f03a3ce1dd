//! The listening sockets (`port` on the `bind` addresses, `tls-port`, and the
//! `unixsocket`), their accept loops, and rebinding them at runtime (CONFIG SET port,
//! bind, tls-port) as redis-server does: the new sockets are opened before the old ones
//! close, and a failure leaves the server listening where it was.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;

use crate::clients::Endpoint;
use crate::config::Config;
use crate::server::Server;
use crate::{notice, warning};

/// Which listeners: plain TCP or TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Tls,
}

impl Kind {
    /// The directive holding the port.
    fn port_directive(self) -> &'static str {
        match self {
            Kind::Plain => "port",
            Kind::Tls => "tls-port",
        }
    }
}

/// Addresses from the `bind` directive; `-` marks an address that may be unavailable.
/// None when one of them is not an address.
fn bind_addresses(bind: &str, port: u16) -> Option<Vec<(SocketAddr, bool)>> {
    bind.split_whitespace()
        .map(|a| {
            let (optional, a) = match a.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, a),
            };
            let ip: std::net::IpAddr = match a {
                "*" => "0.0.0.0".parse().ok()?,
                "::*" => "::".parse().ok()?,
                other => other.parse().ok()?,
            };
            Some((SocketAddr::new(ip, port), optional))
        })
        .collect()
}

/// Opens a listening socket like redis-server does (reuseaddr, backlog, v6only).
fn listen(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    TcpListener::from_std(socket.into())
}

/// Binds `port` on every address of `bind`. An address marked optional (`-`) may fail;
/// any other failure, or no socket at all, is an error naming the port as Redis logs it
/// (its test suite retries a busy port when it reads `Failed listening on port`).
fn bind_port(bind: &str, port: u16, backlog: i32) -> anyhow::Result<Vec<TcpListener>> {
    let Some(addresses) = bind_addresses(bind, port) else {
        anyhow::bail!("Failed to bind to specified addresses: invalid address in '{bind}'");
    };
    // `bind ""`: no TCP listener on this port (the unix socket may still serve).
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let mut listeners = Vec::new();
    for (addr, optional) in addresses {
        match listen(addr, backlog) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                warning!("Warning: Could not create server TCP listening socket {addr}: {e}");
                if !optional {
                    anyhow::bail!("Failed listening on port {port} (tcp), aborting.");
                }
            }
        }
    }
    if listeners.is_empty() {
        anyhow::bail!("Failed listening on port {port} (tcp), aborting.");
    }
    Ok(listeners)
}

/// The listening sockets opened at start-up, before the server exists.
#[derive(Debug, Default)]
pub struct Bound {
    plain: Vec<TcpListener>,
    tls: Vec<TcpListener>,
    unix: Option<(UnixListener, String)>,
}

/// Binds every configured address on `port` and `tls-port`, and the unix socket; fails
/// when a non-optional address cannot be bound, or when nothing listens at all.
pub fn bind_all(config: &Config) -> anyhow::Result<Bound> {
    let port = config.get_int("port") as u16;
    let tls_port = config.get_int("tls-port") as u16;
    let backlog = config.get_int("tcp-backlog") as i32;
    let bind = config.get("bind");
    let open = |p: u16| match p {
        0 => Ok(Vec::new()),
        p => bind_port(bind, p, backlog),
    };
    let bound = Bound {
        plain: open(port)?,
        tls: open(tls_port)?,
        unix: listen_unix(config)?,
    };
    if bound.plain.is_empty() && bound.tls.is_empty() && bound.unix.is_none() {
        anyhow::bail!("Configured to not listen anywhere, exiting.");
    }
    Ok(bound)
}

/// The `unixsocket`, when set: a stale socket file is replaced, and the socket gets the
/// `unixsocketperm` mode (0: as the umask leaves it), as redis-server does.
fn listen_unix(config: &Config) -> anyhow::Result<Option<(UnixListener, String)>> {
    let path = config.get("unixsocket");
    if path.is_empty() {
        return Ok(None);
    }
    let _ = std::fs::remove_file(path);
    let listener =
        UnixListener::bind(path).map_err(|e| anyhow::anyhow!("Failed opening Unix socket: {e}"))?;
    let mode = config.get_octal("unixsocketperm");
    if mode != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| anyhow::anyhow!("Failed opening Unix socket: {e}"))?;
    }
    notice!("The server is now ready to accept connections at {path}");
    Ok(Some((listener, path.to_string())))
}

/// One listening socket served by an accept loop. Closing it drops the socket at once
/// (its port is free again when `close` returns) and ends the loop.
#[derive(Debug)]
struct Slot {
    listener: Mutex<Option<TcpListener>>,
    closed: Notify,
}

impl Slot {
    fn close(&self) {
        self.listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.closed.notify_one();
    }

    /// The next connection; None once closed.
    async fn accept(&self) -> Option<std::io::Result<(tokio::net::TcpStream, SocketAddr)>> {
        let accepted = std::future::poll_fn(|cx| {
            match &*self.listener.lock().unwrap_or_else(|e| e.into_inner()) {
                Some(l) => l.poll_accept(cx).map(Some),
                None => Poll::Ready(None),
            }
        });
        tokio::select! {
            r = accepted => r,
            _ = self.closed.notified() => None,
        }
    }
}

/// The server's listeners, for rebinding at runtime.
#[derive(Debug, Default)]
pub struct Listeners {
    plain: Mutex<Vec<Arc<Slot>>>,
    tls: Mutex<Vec<Arc<Slot>>>,
    /// The unix socket's path while it is served.
    unix_path: Mutex<Option<String>>,
}

impl Listeners {
    fn slots(&self, kind: Kind) -> &Mutex<Vec<Arc<Slot>>> {
        match kind {
            Kind::Plain => &self.plain,
            Kind::Tls => &self.tls,
        }
    }

    /// The port the first plain listener is bound to (0 when there is none).
    fn first_port(listeners: &[TcpListener]) -> usize {
        listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(0, |a| a.port() as usize)
    }

    /// Serves `listeners` of `kind`, replacing (and closing) the ones served before.
    fn serve(&self, server: &Arc<Server>, kind: Kind, listeners: Vec<TcpListener>) {
        if kind == Kind::Plain {
            server
                .port
                .store(Self::first_port(&listeners), Ordering::Relaxed);
        }
        let slots: Vec<Arc<Slot>> = listeners
            .into_iter()
            .map(|l| {
                Arc::new(Slot {
                    listener: Mutex::new(Some(l)),
                    closed: Notify::new(),
                })
            })
            .collect();
        for slot in &slots {
            tokio::spawn(accept_loop(server.clone(), slot.clone(), kind));
        }
        let old = std::mem::replace(
            &mut *self.slots(kind).lock().unwrap_or_else(|e| e.into_inner()),
            slots,
        );
        for slot in old {
            slot.close();
        }
    }

    fn close(&self, kind: Kind) {
        let old = std::mem::take(&mut *self.slots(kind).lock().unwrap_or_else(|e| e.into_inner()));
        for slot in old {
            slot.close();
        }
    }

    /// Starts serving what was bound at start-up.
    pub fn start(&self, server: &Arc<Server>, bound: Bound) {
        self.serve(server, Kind::Plain, bound.plain);
        self.serve(server, Kind::Tls, bound.tls);
        if let Some((listener, path)) = bound.unix {
            *self.unix_path.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.clone());
            tokio::spawn(accept_unix(server.clone(), listener, path));
        }
    }

    /// Removes the unix socket file (at shutdown, as redis-server does).
    pub fn remove_unix_socket(&self) {
        if let Some(path) = self
            .unix_path
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = std::fs::remove_file(path);
        }
    }

    /// CONFIG SET port / tls-port: opens the new port on the `bind` addresses, then closes
    /// the old one; port 0 closes the listeners. On failure the old port stays open.
    pub fn change_port(
        &self,
        server: &Arc<Server>,
        config: &Config,
        kind: Kind,
    ) -> Result<(), String> {
        let port = config.get_int(kind.port_directive()) as u16;
        if port == 0 {
            self.close(kind);
            if kind == Kind::Plain {
                server.port.store(0, Ordering::Relaxed);
            }
            return Ok(());
        }
        let backlog = config.get_int("tcp-backlog") as i32;
        match bind_port(config.get("bind"), port, backlog) {
            Ok(listeners) => {
                self.serve(server, kind, listeners);
                Ok(())
            }
            Err(e) => {
                warning!("{e}");
                Err("Unable to listen on this port. Check server logs.".into())
            }
        }
    }

    /// CONFIG SET bind: closes every listener and opens them on the new addresses; when
    /// that fails, the old addresses are bound again.
    pub fn change_bind(
        &self,
        server: &Arc<Server>,
        old: &Config,
        new: &Config,
    ) -> Result<(), String> {
        let rebind = |config: &Config| -> anyhow::Result<Vec<(Kind, Vec<TcpListener>)>> {
            let backlog = config.get_int("tcp-backlog") as i32;
            let mut bound = Vec::new();
            for kind in [Kind::Plain, Kind::Tls] {
                let port = config.get_int(kind.port_directive()) as u16;
                if port != 0 {
                    bound.push((kind, bind_port(config.get("bind"), port, backlog)?));
                }
            }
            Ok(bound)
        };
        // The same ports on overlapping addresses: the old sockets must go first.
        self.close(Kind::Plain);
        self.close(Kind::Tls);
        let (result, bound) = match rebind(new) {
            Ok(bound) => (Ok(()), bound),
            Err(e) => {
                warning!("{e}");
                let restored = rebind(old).unwrap_or_else(|e| {
                    warning!("Failed to restore the old bind addresses: {e}");
                    Vec::new()
                });
                (
                    Err("Failed to bind to specified addresses.".to_string()),
                    restored,
                )
            }
        };
        for (kind, listeners) in bound {
            self.serve(server, kind, listeners);
        }
        result
    }
}

async fn accept_loop(server: Arc<Server>, slot: Arc<Slot>, kind: Kind) {
    loop {
        let (stream, peer) = match slot.accept().await {
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                warning!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            None => return,
        };
        let _ = stream.set_nodelay(true);
        let keepalive = server.config().get_u64("tcp-keepalive");
        if keepalive > 0 {
            let sock = socket2::SockRef::from(&stream);
            let ka = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(keepalive))
                .with_interval(Duration::from_secs((keepalive / 3).max(1)));
            let _ = sock.set_tcp_keepalive(&ka);
        }
        let local = stream.local_addr().unwrap_or(peer);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        server
            .stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        let endpoint = Endpoint::tcp(peer, local);
        if kind == Kind::Plain {
            tokio::spawn(crate::connection::serve(
                server.clone(),
                stream,
                endpoint,
                fd,
                None,
            ));
            continue;
        }
        let server = server.clone();
        tokio::spawn(async move {
            let Some(acceptor) = server.tls.as_ref() else {
                return;
            };
            let ca = server.config().get("tls-ca-cert-file").to_string();
            if let Some((stream, user)) = acceptor.accept(stream, peer, &ca).await {
                crate::connection::serve(server.clone(), stream, endpoint, fd, Some(user)).await;
            }
        });
    }
}

/// Serves the unix socket: plain connections (never TLS, as in Redis), local ones.
async fn accept_unix(server: Arc<Server>, listener: UnixListener, path: String) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                warning!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        server
            .stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        tokio::spawn(crate::connection::serve(
            server.clone(),
            stream,
            Endpoint::unix(&path),
            fd,
            None,
        ));
    }
}
