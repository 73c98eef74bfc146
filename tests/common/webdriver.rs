//! A small W3C WebDriver client (JSON over HTTP to chromedriver) for the
//! end-to-end tests in a real headless Chromium.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Longest wait for the page to reach a state: a guard against hangs.
pub const WAIT: Duration = Duration::from_secs(15);
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const SHADOW: &str = "shadow-6066-11e4-a52e-4f735466cecf";

/// Where Chromium and its driver are, if installed.
pub fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let which = |names: &[&str]| {
        names.iter().find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
    };
    Some((
        which(&["chromium", "chromium-browser", "google-chrome"])?,
        which(&["chromedriver"])?,
    ))
}

pub struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    pub fn start(chromedriver: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok((200, status)) = request(addr, "GET", "/status", None) {
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr }
    }

    /// A new headless browser window.
    pub fn session(&self, chromium: &Path) -> Browser {
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,860", "--no-first-run", "--disable-extensions"],
            },
        }}});
        let (status, body) = request(self.addr, "POST", "/session", Some(&caps)).unwrap();
        assert_eq!(status, 200, "new session: {body}");
        Browser {
            addr: self.addr,
            id: body["value"]["sessionId"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    use std::io::BufRead as _;
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_mins(1)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    // chromedriver keeps connections open: read the head, then Content-Length bytes.
    let mut reader = std::io::BufReader::new(stream);
    let mut status = 0;
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if status == 0 {
            status = line
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        } else if line.is_empty() {
            break;
        } else if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut raw = Vec::new();
    match length {
        Some(n) => {
            raw.resize(n, 0);
            reader.read_exact(&mut raw)?;
        }
        None => {
            reader.read_to_end(&mut raw)?;
        }
    }
    Ok((status, serde_json::from_slice(&raw).unwrap_or(Value::Null)))
}

/// An element found on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

pub struct Browser {
    addr: SocketAddr,
    id: String,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.id);
        let (status, value) = request(self.addr, method, &path, body.as_ref()).unwrap();
        assert_eq!(status, 200, "{method} {path}: {value}");
        value["value"].clone()
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let path = format!("/session/{}{path}", self.id);
        match request(self.addr, method, &path, body.as_ref()) {
            Ok((200, value)) => Some(value["value"].clone()),
            _ => None,
        }
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `check` gives a value.
    pub fn wait_for<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(value) = check() {
                return value;
            }
            if Instant::now() >= deadline {
                let text: String = self.source().chars().take(1500).collect();
                panic!(
                    "timed out waiting for {what} (at {}); console: {:#?}; page: {text}",
                    self.url(),
                    self.console_errors()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn find_now(&self, css: &str) -> Option<Element> {
        let value = self.try_call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        value[ELEMENT].as_str().map(|id| Element(id.to_string()))
    }

    /// The first element matching `css`, once it is there.
    pub fn find(&self, css: &str) -> Element {
        self.wait_for(css, || self.find_now(css))
    }

    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.try_call(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_string())))
        .collect()
    }

    /// Waits until some element matching `css` contains `text`.
    pub fn wait_text(&self, css: &str, text: &str) -> Element {
        self.wait_for(&format!("{css} containing {text:?}"), || {
            self.find_all(css)
                .into_iter()
                .find(|e| self.text(e).contains(text))
        })
    }

    pub fn source(&self) -> String {
        self.try_call("GET", "/source", None)
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// The text of the element matching `css` that contains `text`, once there.
    pub fn text_containing(&self, css: &str, text: &str) -> String {
        self.wait_for(&format!("{css} containing {text:?}"), || {
            self.find_all(css)
                .into_iter()
                .map(|e| self.text(&e))
                .find(|t| t.contains(text))
        })
    }

    pub fn page_text(&self) -> String {
        self.find_now("body")
            .map(|b| self.text(&b))
            .unwrap_or_default()
    }

    pub fn text(&self, element: &Element) -> String {
        self.try_call("GET", &format!("/element/{}/text", element.0), None)
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// Clicks the element matching `css` that contains `text`, finding it
    /// again when a live update replaced it in between.
    pub fn click_text(&self, css: &str, text: &str) {
        self.wait_for(&format!("a clickable {css} containing {text:?}"), || {
            let element = self
                .find_all(css)
                .into_iter()
                .find(|e| self.text(e).contains(text))?;
            self.try_call(
                "POST",
                &format!("/element/{}/click", element.0),
                Some(json!({})),
            )
        });
    }

    pub fn click(&self, element: &Element) {
        self.call(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        );
    }

    /// Chooses a file in an `<input type=file>` (visible or not).
    pub fn choose_file(&self, element: &Element, path: &Path) {
        self.call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": path.display().to_string() })),
        );
    }

    /// Pastes a small PNG into the element `css`, as a screenshot pasted
    /// from the clipboard arrives.
    pub fn paste_image(&self, css: &str) {
        self.script(&format!(
            "const png = Uint8Array.from(atob('{PASTED_PNG}'), c => c.charCodeAt(0));
             const data = new DataTransfer();
             data.items.add(new File([png], 'image.png', {{ type: 'image/png' }}));
             const target = document.querySelector({css:?});
             target.focus();
             target.dispatchEvent(new ClipboardEvent('paste', {{ clipboardData: data, bubbles: true, cancelable: true }}));
             return true;"
        ));
    }

    pub fn type_into(&self, element: &Element, text: &str) {
        self.call(
            "POST",
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        );
        self.call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        );
    }

    /// Clicks `css`, then sends it `keys`, finding it again when a live
    /// update replaced it in between.
    pub fn click_and_press(&self, css: &str, keys: &str) {
        self.wait_for(&format!("{css} to type into"), || {
            let element = self.find_now(css)?;
            self.try_call(
                "POST",
                &format!("/element/{}/click", element.0),
                Some(json!({})),
            )?;
            self.try_call(
                "POST",
                &format!("/element/{}/value", element.0),
                Some(json!({ "text": keys })),
            )
        });
    }

    /// Sends `keys` to `css` (found again if it was replaced), without
    /// clearing it first; WebDriver key codes work: `\u{E009}` Control,
    /// `\u{E007}` Enter, `\u{E00C}` Escape, `\u{E000}` releases.
    pub fn press_css(&self, css: &str, keys: &str) {
        self.wait_for(&format!("{css} to type into"), || {
            let element = self.find_now(css)?;
            self.try_call(
                "POST",
                &format!("/element/{}/value", element.0),
                Some(json!({ "text": keys })),
            )
        });
    }

    /// Waits for a `confirm()`, answers it (OK or Cancel), and returns its text.
    pub fn answer_prompt(&self, accept: bool) -> String {
        let text = self.wait_for("a confirmation prompt", || {
            self.try_call("GET", "/alert/text", None)
                .and_then(|v| v.as_str().map(String::from))
        });
        let answer = if accept {
            "/alert/accept"
        } else {
            "/alert/dismiss"
        };
        self.call("POST", answer, Some(json!({})));
        text
    }

    /// Fills `css` with `text`.
    pub fn fill(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.type_into(&element, text);
    }

    /// Picks the option shown as `visible_text` in the select `css` (again if
    /// a live update replaced the select in between).
    pub fn select(&self, css: &str, visible_text: &str) {
        self.wait_for(&format!("option {visible_text:?} in {css}"), || {
            let option = self
                .find_all(&format!("{css} option"))
                .into_iter()
                .find(|o| self.text(o) == visible_text)?;
            self.try_call(
                "POST",
                &format!("/element/{}/click", option.0),
                Some(json!({})),
            )
        });
    }

    /// The shadow root of `host` and an element inside it.
    pub fn in_shadow(&self, host: &Element, css: &str) -> Element {
        self.wait_for(&format!("{css} in a shadow root"), || {
            let root = self.try_call("GET", &format!("/element/{}/shadow", host.0), None)?;
            let root = root[SHADOW].as_str()?.to_string();
            let found = self.try_call(
                "POST",
                &format!("/shadow/{root}/element"),
                Some(json!({ "using": "css selector", "value": css })),
            )?;
            found[ELEMENT].as_str().map(|id| Element(id.to_string()))
        })
    }

    pub fn script(&self, code: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": code, "args": [] })),
        )
    }

    /// Saves a PNG of the window as `dir/name.png`.
    pub fn screenshot(&self, dir: &Path, name: &str) {
        use base64::Engine as _;
        let data = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Browser console entries at SEVERE level since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        self.try_call("POST", "/se/log", Some(json!({ "type": "browser" })))
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request(self.addr, "DELETE", &format!("/session/{}", self.id), None);
    }
}

/// A 2x2 PNG, as a pasted screenshot.
const PASTED_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==";
