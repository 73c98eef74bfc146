#!/usr/bin/env bash
# Installs Helpline as a systemd service on a Debian or Ubuntu server.
#
#   sudo ./install.sh                      build from this checkout and install
#   sudo ./install.sh --binary ./helpline  install a binary you already have
#   ./install.sh --dry-run                 print what would change, change nothing
#   sudo ./install.sh --uninstall          remove the service and binary, keep the data
#
# Running it again changes only what differs (it is idempotent). The data in
# /var/lib/helpline is never removed.
set -euo pipefail

BINARY=""
DRY_RUN=0
UNINSTALL=0
ROOT=""
START=1

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    cat <<'OPTS'
Options:
  --binary PATH   install this binary instead of building one with cargo
  --dry-run       print the actions that would be taken, take none
  --uninstall     stop and remove the service and binary (data and config stay)
  --root DIR      stage every file under DIR (for packaging); no user, no systemctl
  --no-start      install but do not enable or start the service
  -h, --help      this help
OPTS
}

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
        --binary=*) BINARY="${1#*=}"; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --root=*) ROOT="${1#*=}"; shift ;;
        --no-start) START=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

ROOT="${ROOT%/}"
BIN_PATH="$ROOT/usr/local/bin/helpline"
CONF_DIR="$ROOT/etc/helpline"
CONF_FILE="$CONF_DIR/helpline.toml"
DATA_DIR="$ROOT/var/lib/helpline"
UNIT_FILE="$ROOT/etc/systemd/system/helpline.service"
SERVICE_USER="helpline"
CHANGED=0
UNIT_CHANGED=0
BINARY_CHANGED=0

say() { printf '%s\n' "$*"; }
act() {
    # act "description" command...: runs the command, or only describes it in dry-run mode.
    local what="$1"; shift
    CHANGED=1
    if [ "$DRY_RUN" = 1 ]; then
        say "would: $what"
    else
        say "$what"
        "$@"
    fi
}
systemd_here() { [ -z "$ROOT" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

if [ "$DRY_RUN" = 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (sudo), or use --dry-run to see what it would do" >&2
    exit 1
fi

unit_text() {
    cat <<'UNIT'
[Unit]
Description=Helpline help desk
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=helpline
Group=helpline
ExecStart=/usr/local/bin/helpline serve --config /etc/helpline/helpline.toml
WorkingDirectory=/var/lib/helpline
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=30
LimitNOFILE=65536
# Two malloc arenas: the server's threads then share freed memory instead of
# each keeping its own (at a million tickets under load: 62 against 107 MiB).
Environment=MALLOC_ARENA_MAX=2

# Hardening: the service can write only its data directory.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/helpline
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
CapabilityBoundingSet=
AmbientCapabilities=
UMask=0077

[Install]
WantedBy=multi-user.target
UNIT
}

if [ "$UNINSTALL" = 1 ]; then
    if systemd_here && systemctl list-unit-files helpline.service >/dev/null 2>&1 \
        && systemctl list-unit-files helpline.service | grep -q helpline.service; then
        act "stop and disable helpline.service" systemctl disable --now helpline.service
    fi
    [ -e "$UNIT_FILE" ] && act "remove $UNIT_FILE" rm -f "$UNIT_FILE"
    if [ "$CHANGED" = 1 ] && systemd_here; then
        act "reload systemd" systemctl daemon-reload
    fi
    [ -e "$BIN_PATH" ] && act "remove $BIN_PATH" rm -f "$BIN_PATH"
    say "kept: $DATA_DIR (data) and $CONF_FILE (configuration); remove them by hand if you mean to"
    [ "$CHANGED" = 0 ] && say "nothing to remove"
    exit 0
fi

# 1. The binary: given, or built from this checkout.
if [ -z "$BINARY" ]; then
    SRC_DIR="$(cd "$(dirname "$0")" && pwd)"
    BINARY="$SRC_DIR/target/release/helpline"
    if [ "$DRY_RUN" = 1 ]; then
        say "would: build the release binary (cargo build --release --locked in $SRC_DIR)"
    else
        command -v cargo >/dev/null 2>&1 || {
            echo "install.sh: cargo not found; install Rust (https://rustup.rs) or pass --binary PATH" >&2
            exit 1
        }
        say "building the release binary (cargo build --release --locked)"
        (cd "$SRC_DIR" && cargo build --release --locked)
    fi
elif [ ! -x "$BINARY" ]; then
    echo "install.sh: $BINARY is not an executable file" >&2
    exit 1
fi

if [ -e "$BINARY" ] && [ -e "$BIN_PATH" ] && cmp -s "$BINARY" "$BIN_PATH"; then
    :
else
    BINARY_CHANGED=1
    act "install $BINARY as $BIN_PATH" install -D -m 0755 "$BINARY" "$BIN_PATH"
fi

# 2. The service user.
if [ -z "$ROOT" ]; then
    if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
        act "create system user $SERVICE_USER" \
            useradd --system --user-group --home-dir /var/lib/helpline --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
fi
OWNER="$SERVICE_USER:$SERVICE_USER"
[ -n "$ROOT" ] && OWNER="$(id -u):$(id -g)"

# 3. Data directory (private to the service) and configuration.
if [ ! -d "$DATA_DIR" ]; then
    act "create $DATA_DIR (mode 0700)" install -d -m 0700 -o "${OWNER%:*}" -g "${OWNER#*:}" "$DATA_DIR"
fi
if [ ! -d "$CONF_DIR" ]; then
    act "create $CONF_DIR" install -d -m 0755 "$CONF_DIR"
fi
if [ ! -e "$CONF_FILE" ]; then
    write_config() {
        local example
        if [ -x "$BIN_PATH" ]; then example="$("$BIN_PATH" config --example)"; else example="$("$BINARY" config --example)"; fi
        printf '%s\n' "$example" \
            | sed -e 's|^data_dir = .*|data_dir = "/var/lib/helpline"|' \
            > "$CONF_FILE"
        chmod 0640 "$CONF_FILE"
        if [ -z "$ROOT" ]; then chgrp "$SERVICE_USER" "$CONF_FILE"; fi
    }
    act "write $CONF_FILE from 'helpline config --example' (mode 0640)" write_config
fi

# 4. The systemd unit.
if [ -e "$UNIT_FILE" ] && [ "$(cat "$UNIT_FILE")" = "$(unit_text)" ]; then
    :
else
    UNIT_CHANGED=1
    write_unit() { install -d -m 0755 "$(dirname "$UNIT_FILE")"; unit_text > "$UNIT_FILE"; chmod 0644 "$UNIT_FILE"; }
    act "write $UNIT_FILE (hardened: ProtectSystem=strict, NoNewPrivileges, ...)" write_unit
    if [ "$DRY_RUN" = 1 ]; then
        unit_text | sed 's/^/    | /'
    fi
fi

# 5. Start or restart.
if [ "$START" = 1 ] && systemd_here; then
    [ "$UNIT_CHANGED" = 1 ] && act "reload systemd" systemctl daemon-reload
    if ! systemctl is-enabled --quiet helpline.service 2>/dev/null; then
        act "enable and start helpline.service" systemctl enable --now helpline.service
    elif [ "$BINARY_CHANGED" = 1 ] || [ "$UNIT_CHANGED" = 1 ]; then
        act "restart helpline.service" systemctl restart helpline.service
    elif ! systemctl is-active --quiet helpline.service; then
        act "start helpline.service" systemctl start helpline.service
    fi
elif [ "$START" = 1 ] && [ -z "$ROOT" ] && [ "$DRY_RUN" = 1 ]; then
    say "would: enable and start helpline.service (systemd is not running on this machine)"
elif [ "$START" = 1 ] && [ -z "$ROOT" ]; then
    say "systemd is not running here: start it with 'systemctl enable --now helpline' once it is"
fi

if [ "$CHANGED" = 0 ]; then
    say "nothing to change: Helpline is installed as configured"
elif [ "$DRY_RUN" = 1 ]; then
    say "dry run: nothing was changed"
else
    say "done. Configuration: $CONF_FILE; data: $DATA_DIR; logs: journalctl -u helpline"
fi
