//! install.sh: dry run changes nothing; a staged install is idempotent; uninstall keeps data.

use std::path::Path;
use std::process::Command;

fn install(args: &[&str]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const BIN: &str = env!("CARGO_BIN_EXE_helpline");

#[test]
fn dry_run_describes_a_hardened_install_and_changes_nothing() {
    let (ok, out) = install(&["--dry-run", "--binary", BIN]);
    assert!(ok, "{out}");
    for expected in [
        "would: install",
        "/usr/local/bin/helpline",
        "/var/lib/helpline",
        "/etc/helpline/helpline.toml",
        "helpline.service",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "User=helpline",
        "dry run: nothing was changed",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    for line in out.lines() {
        let line = line.trim_start();
        assert!(
            line.starts_with("would:") || line.starts_with('|') || line.starts_with("dry run"),
            "a dry run only describes: {line}"
        );
    }
}

#[test]
fn staged_install_is_idempotent_and_uninstall_keeps_data() {
    let root = tempfile::tempdir().unwrap();
    let root_str = root.path().to_str().unwrap();
    let (ok, out) = install(&["--root", root_str, "--binary", BIN]);
    assert!(ok, "{out}");
    let unit = root.path().join("etc/systemd/system/helpline.service");
    let config = root.path().join("etc/helpline/helpline.toml");
    let data = root.path().join("var/lib/helpline");
    assert!(root.path().join("usr/local/bin/helpline").is_file());
    assert!(std::fs::read_to_string(&unit)
        .unwrap()
        .contains("ProtectSystem=strict"));
    let config_text = std::fs::read_to_string(&config).unwrap();
    assert!(
        config_text.contains("data_dir = \"/var/lib/helpline\""),
        "{config_text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    // An operator's edit to the config survives a second run, which changes nothing.
    std::fs::write(&config, "listen = \"0.0.0.0:8080\"\n").unwrap();
    std::fs::write(data.join("helpline.db"), b"precious").unwrap();
    let (ok, out) = install(&["--root", root_str, "--binary", BIN]);
    assert!(ok, "{out}");
    assert!(out.contains("nothing to change"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "listen = \"0.0.0.0:8080\"\n"
    );
    let (ok, out) = install(&["--root", root_str, "--binary", BIN, "--dry-run"]);
    assert!(ok && out.contains("nothing to change"), "{out}");

    let (ok, out) = install(&["--root", root_str, "--uninstall"]);
    assert!(ok, "{out}");
    assert!(!unit.exists());
    assert!(!root.path().join("usr/local/bin/helpline").exists());
    assert_eq!(
        std::fs::read(data.join("helpline.db")).unwrap(),
        b"precious"
    );
    assert!(config.exists());
}
