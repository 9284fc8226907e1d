#!/bin/sh
# Install driftd as a systemd service.
#
#   sh deploy/install.sh [BINARY]
#
# BINARY (or $BIN) is the driftd binary to install; default bin/driftd in
# the source tree. Environment:
#   PREFIX   installation prefix, default /usr/local
#   DESTDIR  staging root prepended to every path (packaging, tests)
#   UNITDIR  where the unit goes; default $PREFIX/lib/systemd/system for
#            /usr/local and /usr, /etc/systemd/system otherwise
#
# Never overwrites an existing /etc/driftd/config.toml, never touches
# secrets, and starts nothing: it prints the remaining steps.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

die() {
	echo "install.sh: $*" >&2
	exit 1
}

bin=${1:-${BIN:-$top/bin/driftd}}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}

case $PREFIX in
/*) ;;
*) die "PREFIX must be an absolute path: $PREFIX" ;;
esac
# PREFIX ends up in the unit's ExecStart= line; keep it to plain path characters.
case $PREFIX in
*[!A-Za-z0-9/._-]*) die "PREFIX contains characters that cannot go into ExecStart=: $PREFIX" ;;
esac
PREFIX=${PREFIX%/}

if [ -z "${UNITDIR:-}" ]; then
	case $PREFIX in
	/usr | /usr/local) UNITDIR=$PREFIX/lib/systemd/system ;;
	*) UNITDIR=/etc/systemd/system ;;
	esac
fi

[ -f "$bin" ] && [ -x "$bin" ] || die "no executable driftd binary at $bin (run make build, or pass its path)"
for f in "$here/systemd/driftd.service" "$here/systemd/driftd.env.example" "$top/config.example.toml"; do
	[ -f "$f" ] || die "missing $f"
done

bindir=$DESTDIR$PREFIX/bin
sharedir=$DESTDIR$PREFIX/share/driftd
unitdir=$DESTDIR$UNITDIR
confdir=$DESTDIR/etc/driftd

# Binary.
install -d -m 0755 "$bindir"
install -m 0755 "$bin" "$bindir/driftd"

# Unit, with ExecStart= pointing at this PREFIX. Written next to its final
# name and renamed, so a half-written unit is never picked up.
install -d -m 0755 "$unitdir"
tmp=$unitdir/.driftd.service.$$
trap 'rm -f "$tmp"' EXIT
sed "s|/usr/local/bin/driftd|$PREFIX/bin/driftd|g" "$here/systemd/driftd.service" >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$unitdir/driftd.service"
trap - EXIT

# Reference copies, refreshed on every install.
install -d -m 0755 "$sharedir"
install -m 0644 "$top/config.example.toml" "$sharedir/config.example.toml"
install -m 0644 "$here/systemd/driftd.env.example" "$sharedir/driftd.env.example"

# Configuration. The service runs as a dynamic user, so config.toml must be
# world-readable (0644); it holds IDs and URLs only. Secrets go to the
# root-only credentials directory, which systemd itself reads at start.
install -d -m 0755 "$confdir"
install -d -m 0700 "$confdir/credentials"
if [ -e "$confdir/config.toml" ]; then
	config_note="kept the existing /etc/driftd/config.toml"
else
	# The example's inline "${DRIFTD_...}" secret references would take
	# precedence over the credentials; comment them out.
	tmp=$confdir/.config.toml.$$
	trap 'rm -f "$tmp"' EXIT
	sed -e 's/^\(client_secret[[:space:]]*=\)/# \1/' \
		-e 's/^\(api_token[[:space:]]*=\)/# \1/' \
		"$top/config.example.toml" >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$confdir/config.toml"
	trap - EXIT
	config_note="installed /etc/driftd/config.toml from config.example.toml"
fi

cat <<EOF
driftd installed${DESTDIR:+ under DESTDIR=$DESTDIR}:
  $PREFIX/bin/driftd
  $UNITDIR/driftd.service
  $PREFIX/share/driftd/{config.example.toml,driftd.env.example}
  $config_note

Next steps (as root):
  1. Edit /etc/driftd/config.toml: tenant, client and account IDs, integrations.
     Leave client_secret and api_token unset; driftd reads them from the
     credentials below.
  2. Put the secrets into /etc/driftd/credentials/, one file each, mode 0600
     (paste the value, then press Ctrl-D):
       (umask 077; cat >/etc/driftd/credentials/entra_client_secret)
       (umask 077; cat >/etc/driftd/credentials/cloudflare_api_token)
     Certificate authentication instead: see the comments in driftd.service
     and switch the credentials in a drop-in (systemctl edit driftd).
  3. Optional proxy or runtime settings:
       install -m 0600 $PREFIX/share/driftd/driftd.env.example /etc/driftd/driftd.env
  4. Try one audit with those credentials, then start the daemon:
       CREDENTIALS_DIRECTORY=/etc/driftd/credentials $PREFIX/bin/driftd check --config /etc/driftd/config.toml
       systemctl daemon-reload && systemctl enable --now driftd
       systemctl status driftd; journalctl -u driftd -f
EOF
