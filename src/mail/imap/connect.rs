//! Opening an IMAP session: TCP, TLS (or STARTTLS), the greeting, login,
//! the folder; every failure as a hint an operator can act on.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::{Client, Session};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName};

use crate::config::{ImapSecurity, MailboxConfig};

/// Any stream a session runs over: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

pub type ImapSession = Session<Box<dyn Io>>;

/// How long connecting, the greeting and login may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A session logged in with `folder` selected, whether the server has IDLE,
/// and the folder's UIDVALIDITY.
pub struct Opened {
    pub session: ImapSession,
    pub idle: bool,
    pub uid_validity: u32,
    pub uid_next: Option<u32>,
}

/// Connects, logs in and selects the folder; `Err` is the hint to show.
pub async fn open(config: &MailboxConfig) -> Result<Opened, String> {
    tokio::time::timeout(CONNECT_TIMEOUT, open_now(config))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "timed out after {} s connecting to {}:{}",
                CONNECT_TIMEOUT.as_secs(),
                config.host,
                config.port()
            ))
        })
}

async fn open_now(config: &MailboxConfig) -> Result<Opened, String> {
    let (host, port) = (config.host.as_str(), config.port());
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| connect_hint(host, port, &e))?;
    let client = match config.security {
        ImapSecurity::Tls => {
            let mut client = Client::new(Box::new(tls(host, tcp).await?) as Box<dyn Io>);
            greeting(&mut client).await?;
            client
        }
        ImapSecurity::None => {
            let mut client = Client::new(Box::new(tcp) as Box<dyn Io>);
            greeting(&mut client).await?;
            client
        }
        ImapSecurity::Starttls => {
            let mut plain = Client::new(tcp);
            greeting(&mut plain).await?;
            plain
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| {
                    format!("the server refused STARTTLS ({e}); try security = \"tls\"")
                })?;
            Client::new(Box::new(tls(host, plain.into_inner()).await?) as Box<dyn Io>)
        }
    };
    let password = config.password().ok_or_else(|| {
        "no password: set the environment variable named by `password_env`".to_string()
    })?;
    let mut session = client
        .login(&config.username, password.expose())
        .await
        .map_err(|(e, _)| match e {
            async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                "authentication failed: check the username and password (many providers want an app password)"
                    .to_string()
            }
            other => format!("login failed: {other}"),
        })?;
    let idle = session
        .capabilities()
        .await
        .map(|caps| caps.has_str("IDLE"))
        .map_err(|e| format!("reading the server's capabilities failed: {e}"))?;
    let mailbox = session.select(&config.folder).await.map_err(|e| match e {
        async_imap::error::Error::No(_) => format!("the folder `{}` does not exist", config.folder),
        other => format!("selecting `{}` failed: {other}", config.folder),
    })?;
    let uid_validity = mailbox
        .uid_validity
        .ok_or("the server gives no UIDVALIDITY; it cannot be fetched safely")?;
    Ok(Opened {
        session,
        idle,
        uid_validity,
        uid_next: mailbox.uid_next,
    })
}

async fn greeting<T: Io>(client: &mut Client<T>) -> Result<(), String> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("the server closed the connection before greeting".into()),
        Err(e) => Err(format!("no IMAP greeting: {e}")),
    }
}

async fn tls(
    host: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup failed: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("`{host}` is not a host name TLS can check"))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {host} failed: {e}"))
}

fn connect_hint(host: &str, port: u16, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused by {host}:{port}: check `host` and `port`")
        }
        _ if e.to_string().contains("lookup") || e.to_string().contains("resolve") => {
            format!("cannot resolve `{host}`: check `host`")
        }
        _ => format!("cannot connect to {host}:{port}: {e}"),
    }
}
