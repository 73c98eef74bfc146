//! Running the real `helpline` binary as a server in a test.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A started server: the process, where it listens, and the setup link it
/// logged (only while no admin exists).
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    pub setup_link: Option<String>,
    /// Every line the server logged after it started listening.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Starts `cmd` (a `helpline serve ...`) with JSON logs and waits until it
/// listens. The log keeps being drained so the server never blocks on it.
pub fn serve(mut cmd: Command) -> Served {
    serve_logging(cmd.env("HELPLINE_LOG_FORMAT", "json"))
}

/// Like [`serve`], with the log format `cmd` sets (JSON or pretty).
pub fn serve_logging(cmd: &mut Command) -> Served {
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("helpline starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut setup_link = None;
    let addr = loop {
        let line = lines
            .next()
            .expect("the server logs until it listens")
            .unwrap();
        if let Some((_, rest)) = line
            .split_once("Helpline is listening")
            .filter(|_| !line.starts_with('{'))
        {
            let addr = rest
                .split_whitespace()
                .find_map(|field| field.strip_prefix("addr="))
                .expect("the listening line names the address");
            break addr.parse().unwrap();
        }
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(link) = event["link"].as_str() {
            setup_link = Some(link.to_string());
        }
        if event["message"] == "Helpline is listening" {
            break event["addr"].as_str().unwrap().parse().unwrap();
        }
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    Served {
        child,
        addr,
        setup_link,
        log,
    }
}
