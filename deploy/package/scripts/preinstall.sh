#!/bin/sh
# {{.Name}} before installation (deb preinst, rpm %pre): the system user
# the service runs as, shared with the other Nines package. It is kept
# on purge, as Debian policy asks of system users (files may still be
# owned by it).
set -e
if ! getent group nines >/dev/null; then
	groupadd --system nines
fi
if ! getent passwd nines >/dev/null; then
	useradd --system --gid nines --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin --comment "Nines monitoring" nines
fi
exit 0
