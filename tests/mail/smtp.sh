#!/bin/bash
# Stop or start only the Postfix (SMTP side) of the instance in DIR, to test
# "SMTP server down, then back".  Dovecot keeps running; queued mail stays in
# DIR/postfix-queue and is delivered after a restart.
#
#   tests/mail/smtp.sh DIR stop    returns when the SMTP port is closed and
#                                  every Postfix process of DIR has exited
#   tests/mail/smtp.sh DIR start   returns when the SMTP port greets "220 "
#                                  (at most ~20 s)
#
# Both are idempotent.  DIR must have been set up by start.sh.
set -eu

here=$(cd -P -- "$(dirname -- "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -eq 2 ] || die "usage: smtp.sh DIR stop|start"
case $1 in /*) ;; *) die "DIR must be an absolute path: $1" ;; esac
[ -f "$1/postfix/main.cf" ] && [ -f "$1/ports.env" ] ||
    die "$1 is not an instance directory made by start.sh"
DIR=$(canon "$1")
load_ports "$DIR"

case $2 in
    stop)
        stop_postfix "$DIR" 10 ||
            die "postfix of $DIR did not stop (pids: $(instance_pids "$DIR" postfix | tr '\n' ' '))"
        ;;
    start)
        deadline=$(( $(now_ms) + 20000 ))
        if [ -n "$(instance_pids "$DIR" postfix)" ]; then
            # Already running: just make sure it answers.
            wait_until "$deadline" greets "$SMTP_PORT" "220 " QUIT ||
                die "postfix of $DIR is running but does not greet on 127.0.0.1:$SMTP_PORT"
        else
            port_listening "$SMTP_PORT" && die "port $SMTP_PORT is already in use"
            reason=$(start_postfix "$DIR" "$deadline") || die "$reason"
        fi
        ;;
    *) die "usage: smtp.sh DIR stop|start" ;;
esac
exit 0
