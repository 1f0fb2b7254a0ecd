//! A TLS man in the middle in front of a private cluster: it answers the client's
//! `SSLRequest` itself, terminates TLS with its own certificate (issued by the cluster's CA,
//! so a client that trusts that CA accepts it), and opens its own TLS session to the server.
//! The bytes inside are relayed untouched. A client that binds its SCRAM login to the
//! certificate it saw (`SCRAM-SHA-256-PLUS`, channel binding) is then refused by the server,
//! whose certificate is another: the server's refusal is the proof that binding was used.

use super::PgCluster;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::{self, pki_types};

/// The proxy; it stops accepting when dropped.
pub struct Mitm {
    pub port: u16,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Mitm {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

const MITM_CERT: &str = r#"set -e
cd "$D"
openssl req -newkey rsa:2048 -nodes -keyout mitm.key -out mitm.csr -subj "/CN=127.0.0.1" 2>/dev/null
openssl x509 -req -in mitm.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out mitm.crt -days 2 -sha256 -extfile ext.cnf 2>/dev/null
"#;

impl Mitm {
    /// In front of `cluster` (a TLS one, from [`PgCluster::start`]).
    pub async fn start(cluster: &PgCluster) -> Mitm {
        let dir = cluster.dir.path();
        let made = std::process::Command::new("sh")
            .args(["-c", MITM_CERT])
            .env("D", dir)
            .status()
            .expect("sh")
            .success();
        assert!(made, "the man in the middle's certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        use pki_types::pem::PemObject;
        let chain = pki_types::CertificateDer::pem_file_iter(dir.join("mitm.crt"))
            .expect("mitm.crt")
            .collect::<Result<Vec<_>, _>>()
            .expect("mitm.crt");
        let key = pki_types::PrivateKeyDer::from_pem_file(dir.join("mitm.key")).expect("mitm.key");
        let server_side = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the mitm certificate");
        let mut roots = rustls::RootCertStore::empty();
        for ca in pki_types::CertificateDer::pem_file_iter(cluster.ca()).expect("ca.crt") {
            roots.add(ca.expect("ca.crt")).expect("the CA");
        }
        let client_side = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_side));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_side));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("bound").port();
        let server_port = cluster.port;
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, connector) = (acceptor.clone(), connector.clone());
                tokio::spawn(async move {
                    let _ = relay(client, server_port, acceptor, connector).await;
                });
            }
        });
        Mitm { port, accept }
    }
}

/// One connection: the client's `SSLRequest` answered here, TLS on both legs, bytes relayed.
async fn relay(
    mut client: TcpStream,
    server_port: u16,
    acceptor: tokio_rustls::TlsAcceptor,
    connector: tokio_rustls::TlsConnector,
) -> std::io::Result<()> {
    let mut ssl_request = [0u8; 8];
    client.read_exact(&mut ssl_request).await?;
    client.write_all(b"S").await?;
    let mut client = acceptor.accept(client).await?;
    let mut server = TcpStream::connect(("127.0.0.1", server_port)).await?;
    server.write_all(&ssl_request).await?;
    let mut answer = [0u8; 1];
    server.read_exact(&mut answer).await?;
    if answer != *b"S" {
        return Err(std::io::Error::other("the server refused TLS"));
    }
    let name = pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut server = connector.connect(name, server).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
