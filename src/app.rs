//! The application object: build it from a config, then serve it, spawn it, or take its Rocket.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rocket::config::{Ident, LogLevel, Shutdown as ShutdownConfig};
use rocket::data::{ByteUnit, Limits};
use rocket::fairing::AdHoc;
use rocket::shield::Shield;
use rocket::{Build, Rocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::password::PasswordHasher;
use crate::auth::rate_limit::RateLimits;
use crate::auth::tokens;
use crate::auth::JwtKeys;
use crate::config::Config;
use crate::db::Db;
use crate::error::Error;
use crate::events::EventHub;
use crate::http::{cors::Cors, security::SecurityHeaders, telemetry::Telemetry};
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::notify::delivery::Delivery;
use crate::state::AppState;
use crate::{api, web};

/// Builds an [`App`]: `App::builder().config(cfg).build()?`.
pub struct AppBuilder {
    config: Option<Config>,
    extra_routes: Vec<(String, Vec<rocket::Route>)>,
    mailer: Option<Arc<dyn Mailer>>,
    background_delivery: bool,
}

impl Default for AppBuilder {
    fn default() -> Self {
        Self {
            config: None,
            extra_routes: Vec::new(),
            mailer: None,
            background_delivery: true,
        }
    }
}

impl AppBuilder {
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Mounts routes of the embedding program beside Helpline's own. They get
    /// the same request ids, logging, metrics and problem-JSON errors.
    #[must_use]
    pub fn mount(mut self, base: impl Into<String>, routes: Vec<rocket::Route>) -> Self {
        self.extra_routes.push((base.into(), routes));
        self
    }

    /// Sends mail through `mailer` instead of the transport the config names.
    #[must_use]
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Whether the server delivers the outbox in the background (default
    /// true). Without it, `state().delivery.drain_once()` sends what is due.
    #[must_use]
    pub fn background_delivery(mut self, on: bool) -> Self {
        self.background_delivery = on;
        self
    }

    /// Validates the config, prepares the data directory, opens and migrates
    /// the database and loads the signing key.
    pub fn build(self) -> Result<App, Error> {
        let config = self.config.unwrap_or_default();
        config.validate()?;
        create_data_dir(&config.data_dir)?;
        // Uploads arrive here before they enter the database.
        create_data_dir(&config.data_dir.join("tmp"))?;
        let db = Db::open(&config.database_path(), &config.database)?;
        let keys = Arc::new(JwtKeys::load(config.jwt_secret.as_ref(), &config.data_dir)?);
        if db.read_now(crate::users::repo::count_admins)? == 0 {
            let token = tokens::issue_purpose(
                &keys,
                tokens::audience::SETUP,
                "setup",
                0,
                tokens::SETUP_TTL_SECS,
            )?;
            tracing::warn!(
                link = %format!("{}/setup#token={token}", config.public_url()),
                "no admin account exists yet: open this link to create the first admin \
                 (or run `helpline user create --role admin --email ...`)"
            );
        }
        let openapi_json = serde_json::to_string(&api::openapi()?)
            .map_err(|e| Error::Internal(format!("serializing the OpenAPI document: {e}")))?;
        let hasher = PasswordHasher::new(config.bcrypt_cost);
        let rate_limits = Arc::new(RateLimits::new(&config.rate_limits));
        let mailer = match self.mailer {
            Some(m) => m,
            None => crate::mail::from_config(&config)?,
        };
        let delivery = Arc::new(Delivery::new(
            &config,
            db.clone(),
            Arc::clone(&keys),
            mailer,
        )?);
        let webhooks = Arc::new(crate::webhooks::Dispatcher::new(&config, db.clone())?);
        let suggester = Arc::new(crate::suggest::Suggester::new(&config)?);
        let events = Arc::new(EventHub::new(&config.realtime));
        let mailboxes = Arc::new(crate::mail::imap::Mailboxes::new(&config.mailboxes));
        Ok(App {
            extra_routes: self.extra_routes,
            background_delivery: self.background_delivery,
            state: AppState {
                config,
                db,
                keys,
                delivery,
                webhooks,
                suggester,
                events,
                hasher,
                rate_limits,
                metrics: Arc::new(Metrics::new()),
                portal_uses: Arc::default(),
                mailboxes,
                openapi_json,
            },
        })
    }
}

/// A built Helpline, ready to serve.
pub struct App {
    state: AppState,
    extra_routes: Vec<(String, Vec<rocket::Route>)>,
    background_delivery: bool,
}

impl App {
    pub fn builder() -> AppBuilder {
        AppBuilder::default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The one-time link that creates the first admin, while no admin exists.
    pub fn setup_link(&self) -> Result<Option<String>, Error> {
        if self.state.db.read_now(crate::users::repo::count_admins)? > 0 {
            return Ok(None);
        }
        crate::users::account::setup_link(&self.state.accounts()).map(Some)
    }

    /// The Rocket instance with every route, catcher and fairing, not yet
    /// launched (tests use it with Rocket's local client).
    pub fn rocket(self) -> Rocket<Build> {
        let config = &self.state.config;
        let size = config.body_limit;
        // An upload is one file in a multipart body (a little framing around it).
        let file = config.attachments.max_file_bytes + ByteUnit::Byte(1);
        let rocket_config = rocket::Config {
            address: config.listen.ip(),
            port: config.listen.port(),
            limits: Limits::default()
                .limit("json", size)
                .limit("bytes", size)
                .limit("string", size)
                .limit("form", size)
                .limit("file", file)
                .limit("data-form", file + ByteUnit::Mebibyte(1)),
            temp_dir: config.data_dir.join("tmp").into(),
            ip_header: config
                .ip_header
                .clone()
                .map(rocket::http::uncased::Uncased::from),
            log_level: LogLevel::Off,
            cli_colors: false,
            ident: Ident::none(),
            // Signals belong to the embedding program: `serve` takes a shutdown future.
            shutdown: ShutdownConfig {
                ctrlc: false,
                #[cfg(unix)]
                signals: HashSet::new(),
                grace: config.shutdown_grace_secs,
                mercy: 2,
                ..ShutdownConfig::default()
            },
            ..rocket::Config::release_default()
        };
        let cors = Cors::new(config.cors_origins.clone());
        let hsts = config.public_url().starts_with("https://");
        let background_delivery = self.background_delivery;
        let maintenance = AdHoc::on_liftoff("maintenance", move |rocket| {
            Box::pin(async move {
                if let Some(state) = rocket.state::<AppState>() {
                    start_workers(state, rocket, background_delivery);
                }
            })
        });
        let telemetry = Telemetry::new(Arc::clone(&self.state.metrics));
        // Rocket waits its whole grace period when any connection is still
        // open as it stops; live streams end on shutdown, so wait (within the
        // grace period) for them to finish first.
        let grace = std::time::Duration::from_secs(u64::from(config.shutdown_grace_secs));
        let drain_live = AdHoc::on_shutdown("live connections", move |rocket| {
            Box::pin(async move {
                let Some(state) = rocket.state::<AppState>() else {
                    return;
                };
                let deadline = tokio::time::Instant::now() + grace;
                while state.events.limits.open() > 0 && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                // Let the connections flush their last bytes and close.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            })
        });

        let mut rocket = rocket::custom(rocket_config)
            .attach(Shield::new())
            .attach(telemetry)
            .attach(SecurityHeaders { hsts })
            .attach(cors)
            .attach(maintenance)
            .attach(drain_live)
            .register("/", api::catchers())
            .mount("/", web::routes())
            .manage(self.state);
        for (base, routes) in self.extra_routes {
            rocket = rocket.mount(base, routes);
        }
        api::mount(rocket)
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn serve<F>(self, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let listen = self.state.config.listen;
        let rocket = self
            .rocket()
            .attach(AdHoc::on_liftoff("listening", |rocket| {
                Box::pin(async move {
                    let addr = SocketAddr::new(rocket.config().address, rocket.config().port);
                    tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "Helpline is listening");
                })
            }))
            .ignite()
            .await
            .map_err(|e| launch_error(listen, &e))?;
        let handle = rocket.shutdown();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down; finishing in-flight requests");
            handle.notify();
        });
        rocket
            .launch()
            .await
            .map_err(|e| launch_error(listen, &e))?;
        Ok(())
    }

    /// Starts serving in the background and returns once the socket is bound.
    /// `listen` may use port 0; [`ServerHandle::local_addr`] tells the real one.
    pub async fn spawn(self) -> Result<ServerHandle, Error> {
        let listen = self.state.config.listen;
        let (bound_tx, bound_rx) = oneshot::channel();
        let rocket = self
            .rocket()
            .attach(AdHoc::on_liftoff("bound address", move |rocket| {
                Box::pin(async move {
                    let addr = SocketAddr::new(rocket.config().address, rocket.config().port);
                    let _ = bound_tx.send(addr);
                })
            }))
            .ignite()
            .await
            .map_err(|e| launch_error(listen, &e))?;
        let shutdown = rocket.shutdown();
        let join = tokio::spawn(async move {
            rocket
                .launch()
                .await
                .map(|_| ())
                .map_err(|e| launch_error(listen, &e))
        });
        match bound_rx.await {
            Ok(local_addr) => Ok(ServerHandle {
                local_addr,
                shutdown,
                join,
            }),
            Err(_) => match join.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => Err(Error::Internal(
                    "the server stopped before it started".into(),
                )),
                Err(e) => Err(Error::Internal(format!("the server task failed: {e}"))),
            },
        }
    }
}

/// A server running in the background.
pub struct ServerHandle {
    local_addr: SocketAddr,
    shutdown: rocket::Shutdown,
    join: JoinHandle<Result<(), Error>>,
}

impl ServerHandle {
    /// The address the server is bound to (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.shutdown.clone().notify();
        self.wait().await
    }

    /// Waits until the server stops.
    pub async fn wait(self) -> Result<(), Error> {
        self.join
            .await
            .map_err(|e| Error::Internal(format!("the server task failed: {e}")))?
    }
}

fn launch_error(listen: SocketAddr, e: &rocket::Error) -> Error {
    match e.kind() {
        rocket::error::ErrorKind::Bind(io) => Error::Config(format!(
            "cannot listen on {listen}: {io}; change `listen` (HELPLINE_LISTEN or --listen)"
        )),
        _ => Error::Internal(format!("the server failed: {e}")),
    }
}

fn create_data_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
                tracing::warn!(
                    dir = %dir.display(),
                    "the data directory is open to other users; run chmod 700 on it"
                );
            }
        }
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Error::io(
            format!(
                "cannot create the data directory {}; change `data_dir` (HELPLINE_DATA_DIR or --data-dir)",
                dir.display()
            ),
            e,
        )
    })
}

/// Wakes the webhook worker whenever events are published (each recorded
/// event may have written deliveries), so they go out at once.
async fn wake_on_events(
    webhooks: Arc<crate::webhooks::Dispatcher>,
    mut events: tokio::sync::broadcast::Receiver<Arc<crate::events::Event>>,
    shutdown: rocket::Shutdown,
) {
    use tokio::sync::broadcast::error::RecvError;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            received = events.recv() => match received {
                Ok(_) | Err(RecvError::Lagged(_)) => webhooks.wake(),
                Err(RecvError::Closed) => break,
            },
        }
    }
}

/// Starts the background work of a launched server: housekeeping, the event
/// publisher, and (unless tests drive them) mail and webhook delivery and
/// the mailbox watchers.
fn start_workers(state: &AppState, rocket: &Rocket<rocket::Orbit>, background_delivery: bool) {
    tokio::spawn(crate::maintenance::run(
        state.db.clone(),
        Arc::clone(&state.rate_limits),
        Arc::clone(&state.portal_uses),
        (
            state.config.realtime.backlog,
            state.config.data_dir.join("tmp"),
            state.config.webhooks.keep_days,
        ),
        rocket.shutdown(),
    ));
    tokio::spawn(Arc::clone(&state.events).publish(state.db.clone(), rocket.shutdown()));
    if background_delivery {
        tokio::spawn(Arc::clone(&state.delivery).run(rocket.shutdown()));
        tokio::spawn(Arc::clone(&state.webhooks).run(rocket.shutdown()));
        tokio::spawn(wake_on_events(
            Arc::clone(&state.webhooks),
            state.events.subscribe(),
            rocket.shutdown(),
        ));
        if !state.mailboxes.is_empty() {
            let fetcher = Arc::new(crate::mail::imap::Fetcher {
                db: state.db.clone(),
                keys: Arc::clone(&state.keys),
                delivery: Arc::clone(&state.delivery),
                max_file_bytes: state.config.attachments.max_file_bytes.as_u64(),
                max_mail_bytes: state.config.attachments.max_inbound_mail_bytes(),
                mailboxes: Arc::clone(&state.mailboxes),
                failures: std::sync::Mutex::default(),
            });
            tokio::spawn(fetcher.run(rocket.shutdown()));
        }
    }
}
