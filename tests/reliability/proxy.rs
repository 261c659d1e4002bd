//! A TCP proxy in front of a local server, owned by one test: it can
//! terminate TLS (a certificate made in the test), and it can cut every
//! connection and refuse new ones for a while, which is a broker outage for
//! that test's worker alone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: Arc<Mutex<CancellationToken>>,
    /// Connections accepted while up.
    pub accepted: Arc<AtomicUsize>,
    stop: CancellationToken,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, tls: Option<rustls::ServerConfig>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let generation = Arc::new(Mutex::new(CancellationToken::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let acceptor = tls.map(|c| tokio_rustls::TlsAcceptor::from(Arc::new(c)));
        tokio::spawn({
            let (up, generation, accepted, stop) = (
                up.clone(),
                generation.clone(),
                accepted.clone(),
                stop.clone(),
            );
            async move {
                loop {
                    let (client, _) = tokio::select! {
                        _ = stop.cancelled() => return,
                        c = listener.accept() => match c { Ok(c) => c, Err(_) => continue },
                    };
                    if !up.load(Ordering::SeqCst) {
                        drop(client); // refused: the "server" is down
                        continue;
                    }
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let cut = generation.lock().unwrap().clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        match acceptor {
                            Some(acceptor) => {
                                let Ok(mut client) = acceptor.accept(client).await else {
                                    return;
                                };
                                tokio::select! {
                                    _ = cut.cancelled() => {}
                                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                }
                            }
                            None => {
                                let mut client = client;
                                tokio::select! {
                                    _ = cut.cancelled() => {}
                                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                }
                            }
                        }
                    });
                }
            }
        });
        Proxy {
            addr,
            up,
            generation,
            accepted,
            stop,
        }
    }

    /// Drops every open connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        let mut g = self.generation.lock().unwrap();
        g.cancel();
        *g = CancellationToken::new();
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.generation.lock().unwrap().cancel();
    }
}

/// A CA and a server certificate for `names`, signed by it: (CA PEM,
/// server config).
pub fn tls_server(names: &[&str]) -> (String, rustls::ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "dmumatch test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca.pem(), config)
}
