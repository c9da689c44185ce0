#!/bin/sh
# {{.Name}} before removal (deb prerm, rpm %preun): a removal stops and
# disables the service; an upgrade leaves it running (postinst restarts it).
set -e
case "$1" in
	remove | 0) ;; # deb remove; rpm erase (0)
	*) exit 0 ;;
esac
if [ -d /run/systemd/system ]; then
	systemctl --no-reload disable --now {{.Name}}.service || true
fi
exit 0
