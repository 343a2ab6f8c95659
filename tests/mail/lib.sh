# Shared helpers for tests/mail/{start,stop,smtp}.sh.  Sourced, not executed.
#
# Layout of an instance directory DIR (everything an instance owns lives here):
#   DIR/ports.env            SMTP_PORT=… IMAP_PORT=… (written by start.sh)
#   DIR/postfix/             Postfix config_directory: main.cf, master.cf, transport.regexp
#   DIR/postfix-queue/       Postfix queue_directory (pid/master.pid lives here)
#   DIR/postfix-data/        Postfix data_directory
#   DIR/postfix.log          Postfix log (maillog_file via postlogd)
#   DIR/dovecot/dovecot.conf Dovecot config
#   DIR/dovecot/state/       Dovecot state_dir
#   DIR/dvrun/               Dovecot base_dir (master.pid, sockets, LMTP socket "lmtp")
#   DIR/dovecot.log          Dovecot log
#   DIR/mail/<user>/Maildir  mailboxes (user = lower-cased local part + "@example.test")

# Fail with a single line on stderr.
die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# Postfix and Dovecot binaries (Debian paths).
POSTFIX=/usr/sbin/postfix
DOVECOT=/usr/sbin/dovecot

# Milliseconds since boot (10 ms resolution), for deadlines.
now_ms() {
    local s
    s=$(cat /proc/uptime)
    s=${s%% *}
    echo $(( ${s%.*} * 1000 + 10#${s#*.} * 10 ))
}

# True if something listens on TCP port $1 (any local address, IPv4 or IPv6).
port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    # Column 2 is local_address "ADDR:PORT" (hex), column 4 is state, 0A = LISTEN.
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v p=":$hex" 'substr($2, length($2) - 4) == p && $4 == "0A" { found = 1 } END { exit !found }'
}

# True if 127.0.0.1:$1 accepts a connection and greets with a line starting
# with $2 (e.g. "220 " for SMTP, "* OK" for IMAP).  The connection is closed
# politely afterwards ($3 is the goodbye command).
greets() {
    local port=$1 expect=$2 bye=$3
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        IFS= read -r -t 3 line <&3 || exit 1
        printf '%s\r\n' "$bye" >&3 2>/dev/null || true
        case $line in "$expect"*) exit 0 ;; *) exit 1 ;; esac
    ) 2>/dev/null
}

# Poll "$@" every 0.1 s until it succeeds or the deadline (ms, as from now_ms)
# passes.  Returns 0 on success, 1 on timeout.
wait_until() {
    local deadline=$1
    shift
    while :; do
        "$@" && return 0
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

not() { ! "$@"; }

# PIDs of processes belonging to the instance in $1 (canonical DIR), kind $2:
# "postfix", "dovecot" or "all".  A process belongs to the instance when its
# executable is a Postfix/Dovecot binary and its working directory or root
# (Dovecot login processes are chrooted) is inside DIR: Postfix daemons run in
# their queue_directory, Dovecot's in its base_dir or the user's home.
instance_pids() {
    local dir=$1 kind=$2 pat cands d paths
    case $kind in
        postfix) pat=(-lname '/usr/lib/postfix/*') ;;
        dovecot) pat=(-lname /usr/sbin/dovecot -o -lname '/usr/lib/dovecot/*') ;;
        *) pat=(-lname '/usr/lib/postfix/*' -o -lname /usr/sbin/dovecot -o -lname '/usr/lib/dovecot/*') ;;
    esac
    # Two find(1) runs instead of a readlink per process: this is polled.
    # 1) processes running a Postfix/Dovecot binary,
    cands=$(find /proc/[0-9]*/exe -maxdepth 0 \( "${pat[@]}" \) -printf '%h/cwd\n%h/root\n' 2>/dev/null) || true
    [ -n "$cands" ] || return 0
    # 2) ... whose cwd or root is DIR or below (glob characters escaped).
    d=${dir//\\/\\\\}
    d=${d//\*/\\*}
    d=${d//\?/\\?}
    d=${d//\[/\\[}
    mapfile -t paths <<<"$cands"
    find "${paths[@]}" -maxdepth 0 \( -lname "$d" -o -lname "$d/*" \) -printf '%h\n' 2>/dev/null |
        sed 's|^/proc/||' | sort -un || true
}

no_instance_pids() { [ -z "$(instance_pids "$1" "$2")" ]; }

# Canonical absolute path of an existing directory (symlinks resolved), so it
# compares equal to /proc/PID/cwd.
canon() { (cd -P -- "$1" && pwd); }

# Read DIR/ports.env if present (sets SMTP_PORT and IMAP_PORT).
load_ports() {
    SMTP_PORT=
    IMAP_PORT=
    if [ -f "$1/ports.env" ]; then
        # shellcheck disable=SC1091
        . "$1/ports.env"
    fi
}

# Stop this instance's Postfix: ask the master to stop, then wait (up to
# $2 seconds) for every Postfix process of the instance to exit and the SMTP
# port to be released; stragglers are killed with SIGKILL.
stop_postfix() {
    local dir=$1 secs=${2:-10} deadline pids pid
    # What "postfix stop" does, minus its one-second polling: SIGTERM to the
    # master (pid file in the queue directory), which terminates its children.
    if [ -f "$dir/postfix-queue/pid/master.pid" ]; then
        pid=$(tr -dc 0-9 <"$dir/postfix-queue/pid/master.pid" 2>/dev/null) || pid=
        # Only signal it if it really is a Postfix of this instance.
        if [ -n "$pid" ] && instance_pids "$dir" postfix | grep -qx "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    fi
    deadline=$(( $(now_ms) + secs * 1000 ))
    if ! wait_until "$deadline" no_instance_pids "$dir" postfix; then
        pids=$(instance_pids "$dir" postfix)
        # shellcheck disable=SC2086
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
        wait_until "$(( $(now_ms) + 3000 ))" no_instance_pids "$dir" postfix ||
            return 1
    fi
    if [ -n "${SMTP_PORT:-}" ]; then
        wait_until "$(( $(now_ms) + 3000 ))" not port_listening "$SMTP_PORT" || return 1
    fi
    return 0
}

# Same for Dovecot (SIGTERM to its master, which takes its children down).
stop_dovecot() {
    local dir=$1 secs=${2:-10} deadline pids pid
    if [ -f "$dir/dvrun/master.pid" ]; then
        pid=$(tr -dc 0-9 <"$dir/dvrun/master.pid" 2>/dev/null) || pid=
        # Only signal it if it really is a dovecot of this instance.
        if [ -n "$pid" ] && instance_pids "$dir" dovecot | grep -qx "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    fi
    deadline=$(( $(now_ms) + secs * 1000 ))
    if ! wait_until "$deadline" no_instance_pids "$dir" dovecot; then
        pids=$(instance_pids "$dir" dovecot)
        # shellcheck disable=SC2086
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
        wait_until "$(( $(now_ms) + 3000 ))" no_instance_pids "$dir" dovecot ||
            return 1
    fi
    rm -f "$dir/dvrun/master.pid"
    if [ -n "${IMAP_PORT:-}" ]; then
        wait_until "$(( $(now_ms) + 3000 ))" not port_listening "$IMAP_PORT" || return 1
    fi
    return 0
}

# Start this instance's Postfix and wait until the deadline (ms) for its SMTP
# port to greet.  Prints a one-line reason and returns 1 on failure.
start_postfix() {
    local dir=$1 deadline=$2
    # Output to a file, not $(...): daemons may inherit and hold the pipe.
    if ! "$POSTFIX" -c "$dir/postfix" start >"$dir/postfix-start.out" 2>&1 </dev/null; then
        echo "postfix start failed: $(grep -v '^$' "$dir/postfix-start.out" | tail -n 1)"
        return 1
    fi
    if ! wait_until "$deadline" greets "$SMTP_PORT" "220 " QUIT; then
        echo "postfix did not greet on 127.0.0.1:$SMTP_PORT in time (log: $dir/postfix.log: $(tail -n 1 "$dir/postfix.log" 2>/dev/null))"
        return 1
    fi
}
