//! A nats-server started with Accord's auth config block (the testkit's server has a fixed
//! config without auth), and client helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use accord_nats_auth::{
    ApiToken, AuthConfig, Denied, Grant, Issuer, KeyRing, ResponderHandle, ResponderOptions,
    ServiceUser, keys, spawn_responder,
};
use anyhow::{Context as _, bail};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Generous deadline for anything the server does asynchronously.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub const PROJECT: &str = "01JPROJECTAAAAAAAAAAAAAAAA";
pub const OTHER_PROJECT: &str = "01JPROJECTBBBBBBBBBBBBBBBB";
pub const CUSTOMER_TOKEN: &str = "acc_customer_token_0123456789";
pub const OPERATOR_TOKEN: &str = "acc_operator_token_0123456789";
pub const SHORT_TOKEN: &str = "acc_short_lived_token_0123456789";

pub struct AuthServer {
    pub keys: KeyRing,
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AuthServer {
    /// Starts a server whose config includes `AuthConfig::render()` (edited by `edit`).
    pub async fn start_with(edit: impl FnOnce(String, &KeyRing) -> String) -> anyhow::Result<Self> {
        let binary = accord_testkit::nats_server_binary()?;
        let dir = tempfile::tempdir()?;
        let keys = KeyRing::load_or_generate(&dir.path().join("keys"))?;
        let auth_path = dir.path().join("auth.conf");
        AuthConfig::from_keys(&keys).write(&auth_path)?;
        let auth = edit(std::fs::read_to_string(&auth_path)?, &keys);
        std::fs::write(&auth_path, auth)?;
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        let store = dir.path().join("js");
        let config = format!(
            "listen: \"127.0.0.1:{port}\"\nserver_name: \"auth-test-{port}\"\n\
             jetstream {{ store_dir: \"{}\" }}\ninclude \"auth.conf\"\n",
            store.display()
        );
        let config_path = dir.path().join("nats-server.conf");
        std::fs::write(&config_path, config)?;
        let log_path = dir.path().join("nats-server.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .context("spawn nats-server")?;
        let mut server = AuthServer {
            keys,
            dir,
            port,
            child,
        };
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("nats-server exited with {status}:\n{}", server.log());
            }
            if server.log().contains("Server is ready")
                && tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("nats-server not ready:\n{}", server.log());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|text, _| text).await
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats-server.log")).unwrap_or_default()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    /// Starts the responder with the test verdict; returns it and the count of verdict calls.
    pub async fn responder(&self) -> anyhow::Result<(ResponderHandle, Arc<AtomicUsize>)> {
        let seed = keys::read_seed(&self.keys.callout_user_seed_path())?;
        let client = accord_nats_auth::connect_callout_user(&self.url(), seed, None).await?;
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let verdict = move |token: ApiToken| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { test_verdict(&token) }
        };
        let handle = spawn_responder(
            client,
            Issuer::new(self.keys.issuer()),
            verdict,
            ResponderOptions::default(),
        )
        .await?;
        Ok((handle, calls))
    }

    /// Connects as a service user.
    pub async fn service(&self, user: ServiceUser) -> anyhow::Result<Client> {
        let seed = keys::read_seed(&self.keys.service_seed_path(user))?;
        connect(
            async_nats::ConnectOptions::with_nkey(seed).name(user.name()),
            &self.url(),
        )
        .await
    }

    /// Connects with a token.
    pub async fn customer(&self, token: &str) -> anyhow::Result<Client> {
        connect(
            async_nats::ConnectOptions::with_token(token.to_owned()).name("customer"),
            &self.url(),
        )
        .await
        .with_context(|| format!("server log:\n{}", self.log()))
    }
}

/// The verdict the tests use: two known keys, a short-lived one; everything else refused.
pub fn test_verdict(token: &ApiToken) -> Result<Grant, Denied> {
    match token.expose() {
        CUSTOMER_TOKEN => Ok(Grant {
            principal: "customer-key".into(),
            project: Some(PROJECT.into()),
            ttl: Duration::from_secs(3600),
        }),
        OPERATOR_TOKEN => Ok(Grant {
            principal: "operator".into(),
            project: None,
            ttl: Duration::from_secs(3600),
        }),
        SHORT_TOKEN => Ok(Grant {
            principal: "short".into(),
            project: Some(PROJECT.into()),
            ttl: Duration::from_secs(2),
        }),
        _ => Err(Denied::new("unknown API key")),
    }
}

/// A client and the events its connection reported.
pub struct Client {
    pub client: async_nats::Client,
    pub events: mpsc::UnboundedReceiver<async_nats::Event>,
}

impl Client {
    /// Waits for an event matching `pred` (generous deadline); returns it.
    pub async fn wait_event(
        &mut self,
        what: &str,
        pred: impl Fn(&async_nats::Event) -> bool,
    ) -> anyhow::Result<async_nats::Event> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) if pred(&event) => return Ok(event),
                Ok(Some(_)) => continue,
                Ok(None) => bail!("event stream ended before {what}"),
                Err(_) => bail!("no {what} within {DEADLINE:?}"),
            }
        }
    }
}

/// `true` for a server permissions-violation error mentioning `subject`.
pub fn is_violation(event: &async_nats::Event, subject: &str) -> bool {
    match event {
        async_nats::Event::ServerError(async_nats::ServerError::Other(message)) => {
            let message = message.to_lowercase();
            message.contains("permissions violation") && message.contains(&subject.to_lowercase())
        }
        _ => false,
    }
}

async fn connect(options: async_nats::ConnectOptions, url: &str) -> anyhow::Result<Client> {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = options
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .connection_timeout(Duration::from_secs(10))
        .max_reconnects(Some(1))
        .connect(url)
        .await?;
    Ok(Client { client, events: rx })
}

/// Receives the next message within the deadline.
pub async fn next_message(sub: &mut async_nats::Subscriber) -> anyhow::Result<async_nats::Message> {
    use futures::StreamExt as _;
    match tokio::time::timeout(DEADLINE, sub.next()).await {
        Ok(Some(message)) => Ok(message),
        Ok(None) => bail!("subscription ended"),
        Err(_) => bail!("no message within {DEADLINE:?}"),
    }
}
