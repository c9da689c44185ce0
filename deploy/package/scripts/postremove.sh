#!/bin/sh
# {{.Name}} after removal (deb postrm, rpm %postun). A purge also removes
# the state directory (the store or the spool); dpkg removes the
# configuration files. The nines user stays (Debian policy).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
	rm -rf {{.StateDir}}
fi
exit 0
