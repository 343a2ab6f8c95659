#!/bin/bash
# Stop the Postfix + Dovecot pair started by tests/mail/start.sh in DIR.
#
#   tests/mail/stop.sh DIR
#
# Only processes of this instance are touched (Postfix/Dovecot binaries whose
# working directory or root lies inside DIR).  Returns when they are all gone
# and the instance's ports are no longer listening.  Idempotent: an instance
# that is not running is fine, and so is a missing DIR (any processes still
# running from the deleted DIR are ended).  Mail and queue files stay.
set -eu

here=$(cd -P -- "$(dirname -- "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || die "usage: stop.sh DIR"
case $1 in /*) ;; *) die "DIR must be an absolute path: $1" ;; esac
if [ ! -d "$1" ]; then
    # DIR is gone (e.g. a test's tempdir was deleted before stop.sh ran): no
    # pid files or ports to go by, but processes still running from inside
    # the deleted DIR are found by their working directory, so end those.
    pids=$(instance_pids "${1%/}" all)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        wait_until "$(( $(now_ms) + 5000 ))" no_instance_pids "${1%/}" all || {
            # shellcheck disable=SC2086
            kill -KILL $(instance_pids "${1%/}" all) 2>/dev/null || true
            wait_until "$(( $(now_ms) + 3000 ))" no_instance_pids "${1%/}" all ||
                die "processes of the deleted $1 did not stop: $(instance_pids "${1%/}" all | tr '\n' ' ')"
        }
    fi
    exit 0
fi
DIR=$(canon "$1")
load_ports "$DIR"

# Postfix first, so nothing is delivering into a Dovecot that is going away.
stop_postfix "$DIR" 10 || die "postfix of $DIR did not stop (pids: $(instance_pids "$DIR" postfix | tr '\n' ' '))"
stop_dovecot "$DIR" 10 || die "dovecot of $DIR did not stop (pids: $(instance_pids "$DIR" dovecot | tr '\n' ' '))"
exit 0
