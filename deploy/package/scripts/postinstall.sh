#!/bin/sh
# {{.Name}} after installation (deb postinst, rpm %post). The state
# directory is private to the nines user: the binary refuses one that
# others can read. The service is neither enabled nor started: it needs
# its tokens first (see /etc/nines/{{.Config}}). An upgrade restarts it
# only if it was running.
set -e
case "$1" in
	configure | 1 | 2) ;; # deb configure; rpm install (1) or upgrade (2)
	*) exit 0 ;;
esac
install -d -o nines -g nines -m 0700 {{.StateDir}}
chown nines:nines {{.StateDir}}
chmod 0700 {{.StateDir}}
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	systemctl try-restart {{.Name}}.service || true
fi
if [ "$1" = 1 ] || { [ "$1" = configure ] && [ -z "$2" ]; }; then
	echo "{{.Name}}: configure /etc/nines/{{.Config}} and its tokens, check it with"
	echo "  {{.Name}} --config /etc/nines/{{.Config}} --check-config"
	echo "then start it with: systemctl enable --now {{.Name}}"
fi
exit 0
