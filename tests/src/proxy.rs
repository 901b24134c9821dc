//! A TCP proxy on loopback that tests use to cut connections and to take "the server" down
//! and up again, the way a load balancer, a network partition or a restart would.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards every connection made to [`address`](Self::address) to a target address.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let proxy = chronicle_tests::proxy::CutProxy::start("127.0.0.1:7233").await?;
/// // connect clients and workers to proxy.address() ...
/// proxy.cut_all(); // every open connection is closed; new ones go through
/// proxy.go_down(); // connections are closed and refused until come_up()
/// proxy.come_up();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CutProxy {
    address: String,
    state: Arc<State>,
    accept: AbortHandle,
}

#[derive(Debug, Default)]
struct State {
    open: Mutex<Vec<AbortHandle>>,
    down: AtomicBool,
    accepted: AtomicU64,
}

impl CutProxy {
    /// Listens on a free 127.0.0.1 port, forwarding to `target`.
    pub async fn start(target: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let state = Arc::new(State::default());
        let target = target.to_string();
        let accepting = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if accepting.down.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                accepting.accepted.fetch_add(1, Ordering::SeqCst);
                let target = target.clone();
                let forward = tokio::spawn(forward(inbound, target));
                let mut open = accepting.open.lock().unwrap_or_else(|e| e.into_inner());
                open.retain(|task| !task.is_finished());
                open.push(forward.abort_handle());
            }
        })
        .abort_handle();
        Ok(Self {
            address,
            state,
            accept,
        })
    }

    /// `host:port` to connect to.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Closes every open connection; returns how many there were. New connections go through.
    pub fn cut_all(&self) -> usize {
        let mut open = self.state.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.iter().filter(|task| !task.is_finished()).count();
        for task in open.drain(..) {
            task.abort();
        }
        count
    }

    /// Closes every open connection and refuses new ones until [`come_up`](Self::come_up).
    pub fn go_down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        self.cut_all();
    }

    /// Accepts connections again.
    pub fn come_up(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }

    /// Connections accepted and forwarded so far.
    pub fn accepted(&self) -> u64 {
        self.state.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}

async fn forward(mut inbound: TcpStream, target: String) {
    let Ok(mut outbound) = TcpStream::connect(&target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}
