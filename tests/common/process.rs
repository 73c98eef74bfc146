//! Running the real `helpline` binary as a server in a test.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// A started server: the process, where it listens, and the setup link it
/// logged (only while no admin exists).
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    pub setup_link: Option<String>,
}

/// Starts `cmd` (a `helpline serve ...`) with JSON logs and waits until it
/// listens. The log keeps being drained so the server never blocks on it.
pub fn serve(mut cmd: Command) -> Served {
    let mut child = cmd
        .env("HELPLINE_LOG_FORMAT", "json")
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
    std::thread::spawn(move || for _ in lines {});
    Served {
        child,
        addr,
        setup_link,
    }
}
